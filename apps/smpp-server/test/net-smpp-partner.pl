#!/usr/bin/perl
# A partner's SMPP client written with Net::SMPP (Debian's libnet-smpp-perl), independent of the
# platform's codec and of the `smpp` npm package: binds as transceiver, sends enquire_link, then for
# each DESTINATION/DATA_CODING/HEX_TEXT triple a submit_sm (the text as its octets, in short_message
# up to 254 octets, else in message_payload), and unbinds. Prints what it got as key=value lines.
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

my $link = $smpp->enquire_link() or die "error=no enquire_link_resp\n";
print "enquire_link_status=$link->{status}\n";

my $n = 0;
while (my ($destination, $coding, $hex) = splice(@submits, 0, 3)) {
    $n++;
    my $octets = pack('H*', $hex);
    my %message = length($octets) > 254 ? (short_message => '', message_payload => $octets) : (short_message => $octets);
    my $resp = $smpp->submit_sm(
        source_addr_ton  => 5,
        source_addr      => $source,
        dest_addr_ton    => 1,
        dest_addr_npi    => 1,
        destination_addr => $destination,
        data_coding      => $coding,
        %message,
    ) or die "error=no submit_sm_resp\n";
    print "submit${n}_status=$resp->{status}\n";
    print "submit${n}_message_id=" . ($resp->{message_id} // '') . "\n";
}

my $unbind = $smpp->unbind() or die "error=no unbind_resp\n";
print "unbind_status=$unbind->{status}\n";
