#!/usr/bin/perl
# An ESME written with Net::SMPP (Debian's libnet-smpp-perl), an SMPP implementation independent of
# the `smpp` npm package: binds as transceiver, submits one message asking for a receipt, waits for
# the receipt, acknowledges it and unbinds. Prints what it got as key=value lines.
#
# usage: net-smpp-client.pl HOST PORT SYSTEM_ID PASSWORD DESTINATION TEXT
use strict;
use warnings;
use Net::SMPP;

my ($host, $port, $system_id, $password, $destination, $text) = @ARGV;
die "usage: $0 HOST PORT SYSTEM_ID PASSWORD DESTINATION TEXT\n" unless defined $text;

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
print "bind_system_id=$bind->{system_id}\n";
exit 1 if $bind->{status};

my $resp = $smpp->submit_sm(
    source_addr_ton     => 5,
    source_addr         => 'NetSMPP',
    dest_addr_ton       => 1,
    dest_addr_npi       => 1,
    destination_addr    => $destination,
    registered_delivery => 1,
    data_coding         => 0,
    short_message       => $text,
) or die "error=no submit_sm_resp\n";
print "submit_status=$resp->{status}\n";
print "message_id=$resp->{message_id}\n";

# Asynchronous traffic from the SMSC: answer enquire_link, wait for the deliver_sm.
while (1) {
    my $pdu = $smpp->read_pdu() or die "error=connection lost while waiting for the receipt\n";
    if ($pdu->{cmd} == Net::SMPP::CMD_enquire_link) {
        $smpp->enquire_link_resp(seq => $pdu->{seq});
        next;
    }
    next unless $pdu->{cmd} == Net::SMPP::CMD_deliver_sm;
    (my $receipted = $pdu->{receipted_message_id} // '') =~ s/\0+$//;
    print "deliver_esm_class=$pdu->{esm_class}\n";
    print "deliver_source_addr=$pdu->{source_addr}\n";
    print "deliver_destination_addr=$pdu->{destination_addr}\n";
    print "deliver_short_message=$pdu->{short_message}\n";
    print "receipted_message_id=$receipted\n";
    print 'message_state=' . unpack('C', $pdu->{message_state} // "\xff") . "\n";
    $smpp->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
    last;
}

my $unbind = $smpp->unbind() or die "error=no unbind_resp\n";
print "unbind_status=$unbind->{status}\n";
