#!/usr/bin/perl
# A partner's SMPP client written with Net::SMPP (Debian's libnet-smpp-perl), independent of the
# platform's codec and of the `smpp` npm package: binds as transceiver, sends enquire_link, then for
# each DESTINATION/DATA_CODING/HEX_TEXT triple a submit_sm (the text as its octets, in short_message
# up to 254 octets, else in message_payload; a HEX_TEXT written udh:<hex> is split into parts of 153
# octets behind a concatenation UDH, one submit_sm each), and unbinds. With SMPP_WAIT_DELIVERIES=N
# set, it first waits for N deliver_sm (receipts and MO; those arriving during the submits count)
# and acknowledges each. Prints what it got as key=value lines.
#
# usage: net-smpp-partner.pl HOST PORT SYSTEM_ID PASSWORD [SOURCE DESTINATION DATA_CODING HEX_TEXT ...]
use strict;
use warnings;
use Net::SMPP;

my ($host, $port, $system_id, $password, $source, @submits) = @ARGV;
die "usage: $0 HOST PORT SYSTEM_ID PASSWORD [SOURCE DESTINATION DATA_CODING HEX_TEXT ...]\n" unless defined $password;

$SIG{ALRM} = sub { print "error=timeout\n"; exit 2 };
alarm 20;
$| = 1;

my ($smpp, $bind) = Net::SMPP->new_transceiver(
    $host,
    port              => $port,
    system_id         => $system_id,
    password          => $password,
    interface_version => 0x34,
);
die "error=connect failed: $!\n" unless $smpp && $bind;
print "bind_status=$bind->{status}\n";
exit 0 if $bind->{status};
print "bind_system_id=$bind->{system_id}\n";

# deliver_sm from the platform (receipts, MO): printed and acknowledged, also while a submit_sm
# waits for its answer.
my $deliveries = 0;
${*$smpp}{handlers}->{0x00000005} = sub {
    my ($me, $pdu) = @_;
    $deliveries++;
    my $k = "deliver$deliveries";
    print "${k}_esm_class=$pdu->{esm_class}\n";
    print "${k}_data_coding=$pdu->{data_coding}\n";
    print "${k}_source_addr=$pdu->{source_addr}\n";
    print "${k}_destination_addr=$pdu->{destination_addr}\n";
    print "${k}_short_message_hex=" . unpack('H*', $pdu->{short_message} // '') . "\n";
    print "${k}_receipted_message_id=" . (($pdu->{receipted_message_id} // '') =~ s/\0+$//r) . "\n";
    print "${k}_message_state=" . (defined $pdu->{message_state} ? unpack('C', $pdu->{message_state}) : '') . "\n";
    $me->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
};

my $link = $smpp->enquire_link() or die "error=no enquire_link_resp\n";
print "enquire_link_status=$link->{status}\n";

# One submit_sm to DESTINATION with DATA_CODING and the given message fields; dies without an answer.
sub submit {
    my ($destination, $coding, %message) = @_;
    return $smpp->submit_sm(
        source_addr_ton  => 5,
        source_addr      => $source,
        dest_addr_ton    => 1,
        dest_addr_npi    => 1,
        destination_addr => $destination,
        data_coding      => $coding,
        registered_delivery => 1,
        %message,
    ) || die "error=no submit_sm_resp\n";
}

my $n = 0;
while (my ($destination, $coding, $hex) = splice(@submits, 0, 3)) {
    $n++;
    if ($hex =~ s/^udh://) {
        # Split as most clients do: 153 octets per part behind an 8-bit concatenation header.
        my @chunks = unpack('(a153)*', pack('H*', $hex));
        my $total = @chunks;
        for my $i (0 .. $#chunks) {
            my $resp = submit($destination, $coding, esm_class => 0x40, short_message => pack('C6', 5, 0, 3, 0x42, $total, $i + 1) . $chunks[$i]);
            print "submit${n}_part" . ($i + 1) . "_status=$resp->{status}\n";
            print "submit${n}_part" . ($i + 1) . "_message_id=" . ($resp->{message_id} // '') . "\n";
        }
        next;
    }
    my $octets = pack('H*', $hex);
    my $resp = submit($destination, $coding, length($octets) > 254 ? (short_message => '', message_payload => $octets) : (short_message => $octets));
    print "submit${n}_status=$resp->{status}\n";
    print "submit${n}_message_id=" . ($resp->{message_id} // '') . "\n";
}

my $wanted = $ENV{SMPP_WAIT_DELIVERIES} // 0;
while ($deliveries < $wanted) {
    my $pdu = $smpp->read_pdu() or die "error=connection closed after $deliveries deliver_sm\n";
    my $handler = ${*$smpp}{handlers}->{$pdu->{cmd}};
    $handler->($smpp, $pdu) if $handler;
}
print "deliveries=$deliveries\n" if $wanted;

my $unbind = $smpp->unbind() or die "error=no unbind_resp\n";
print "unbind_status=$unbind->{status}\n";
