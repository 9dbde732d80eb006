#!/usr/bin/perl
# A small SMSC written with Net::SMPP (Debian's libnet-smpp-perl), an SMPP implementation
# independent of the `smpp` npm package the connector uses. The connector binds to it as to an
# operator's SMSC; the test reads what this side decoded.
#
# usage: net-smpp-smsc.pl [--port N] [--system-id ID] [--password PW] [--dlr-delay-ms MS] [--log FILE]
#
#   --port 0 (default) listens on a free port of 127.0.0.1. The first line on stdout is always
#   `PORT=<port>`; then one JSON object per line (to --log FILE instead, when given).
#
# What it does:
#   - bind_transmitter/receiver/transceiver: checked against --system-id / --password; a wrong
#     pair is answered ESME_RBINDFAIL (0x0D) and the connection closed.
#   - enquire_link: answered. unbind: answered, connection closed.
#   - submit_sm: answered with a message id of its own. Ids are one counter; odd submits get it
#     in lower-case hex (`a1b2c5`), even ones in decimal (`10597062`), so both forms reach the
#     connector. After --dlr-delay-ms (default 50) a delivery receipt goes back on the same
#     connection (when registered_delivery asks for one): deliver_sm with esm_class 0x04,
#     data_coding 0, the text `id:<decimal id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done
#     date:YYMMDDhhmm stat:DELIVRD err:000 text:<first 20 bytes>`. By destination number:
#       ...0005  stat:UNDELIV err:001 (unknown subscriber), with network_error_code 03 00 01
#       ...0007  the receipt has no TLVs: the connector must match it by the text's decimal id
#       other    DELIVRD
#     Receipts other than ...0007 carry receipted_message_id (exactly the id of the
#     submit_sm_resp) and message_state (2 DELIVRD, 5 UNDELIV).
#   - commands on stdin, one a line:
#       MO <from> <to> <data_coding> <esm_class> <short_message hex> [tlv=value ...]
#         sends a deliver_sm (an MO) on the latest bound receiving session. The hex is the
#         whole short_message, UDH included. TLVs: sar_msg_ref_num, sar_total_segments,
#         sar_segment_seqnum (decimal values), message_payload (hex).
#       QUIT
#     End of stdin stops the SMSC too, so it never outlives the test that started it.
#
# JSON lines: {"event":"listening"|"connect"|"disconnect"|"recv"|"sent"|"error", ...}. "recv" has
# every decoded field of the PDU (short_message and TLV values as hex); "sent" has the requests
# this SMSC sent (receipts and MO) with their sequence numbers, so answers can be matched.
use strict;
use warnings;
use Getopt::Long;
use IO::Select;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time);
use Net::SMPP;

my %opt = (port => 0, 'system-id' => 'smsgw', password => 'smsgw', 'dlr-delay-ms' => 50, log => '');
GetOptions(\%opt, 'port=i', 'system-id=s', 'password=s', 'dlr-delay-ms=i', 'log=s') or die "bad options\n";

$| = 1;
my $json = JSON::PP->new->canonical->ascii;
my $out = \*STDOUT;
if ($opt{log} ne '') {
    open($out, '>>', $opt{log}) or die "cannot open $opt{log}: $!\n";
    $out->autoflush(1);
}
# A stuck run never outlives this.
$SIG{ALRM} = sub { emit({ event => 'error', error => 'lifetime exceeded' }); exit 3 };
alarm 600;
$SIG{PIPE} = 'IGNORE';

sub emit { print {$out} $json->encode($_[0]) . "\n" }

my $listener = Net::SMPP->new_listen('127.0.0.1', port => $opt{port}, smpp_version => 0x34, system_id => 'NETSMPP')
  or die "cannot listen on port $opt{port}: $!\n";
print "PORT=" . $listener->sockport . "\n";
emit({ event => 'listening', port => $listener->sockport });

use constant {
    ESME_ROK         => 0x00,
    ESME_RINVCMDID   => 0x03,
    ESME_RINVBNDSTS  => 0x04,
    ESME_RALYBND     => 0x05,
    ESME_RBINDFAIL   => 0x0D,
};

my %bind_resp = (
    Net::SMPP::CMD_bind_transceiver => 'bind_transceiver_resp',
    Net::SMPP::CMD_bind_transmitter => 'bind_transmitter_resp',
    Net::SMPP::CMD_bind_receiver    => 'bind_receiver_resp',
);

my $select = IO::Select->new($listener, \*STDIN);
my %sessions;         # fileno => { sock, fd, id, bound, receives, bound_at }
my $next_session = 0;
my @timers;           # [ due (epoch s), session id, code ]
my $submits = 0;
my $first_id = 0xA1B2C3;
my $stdin_buf = '';

sub hexof { defined $_[0] ? unpack('H*', $_[0]) : undef }

sub session_by_id {
    my ($id) = @_;
    for my $s (values %sessions) { return $s if $s->{id} == $id }
    return undef;
}

sub close_session {
    my ($s, $why) = @_;
    $select->remove($s->{sock});
    delete $sessions{ $s->{fd} };
    close $s->{sock};
    emit({ event => 'disconnect', session => $s->{id}, reason => $why });
}

# Every TLV the PDU carried, by name where Net::SMPP knows it (else `0x<tag>`), value as hex.
sub tlvs_of {
    my ($pdu) = @_;
    my %t;
    for my $k (keys %$pdu) {
        next unless $k =~ /^\d+$/;
        my $def = Net::SMPP::param_tab->{$k};
        $t{ $def ? $def->{name} : sprintf('0x%04x', $k) } = hexof($pdu->{$k});
    }
    return \%t;
}

sub describe {
    my ($s, $pdu, $name) = @_;
    my %d = (event => 'recv', session => $s->{id}, command => $name, seq => $pdu->{seq}, command_status => $pdu->{status});
    if ($name =~ /^bind_/) {
        $d{$_} = $pdu->{$_} for qw(system_id password system_type interface_version addr_ton addr_npi address_range);
    }
    if ($name eq 'submit_sm' || $name eq 'deliver_sm') {
        $d{$_} = $pdu->{$_} for qw(service_type source_addr_ton source_addr_npi source_addr dest_addr_ton dest_addr_npi destination_addr
          esm_class protocol_id priority_flag schedule_delivery_time validity_period registered_delivery replace_if_present_flag
          data_coding sm_default_msg_id);
        $d{short_message} = hexof($pdu->{short_message});
        $d{sm_length} = length($pdu->{short_message} // '');
        $d{tlvs} = tlvs_of($pdu);
    }
    if ($name =~ /_resp$/ && $name !~ /^(enquire_link|unbind)_resp$/) {
        $d{message_id} = $pdu->{message_id};
    }
    return \%d;
}

# submit date / done date of a receipt: YYMMDDhhmm, UTC.
sub receipt_time { strftime('%y%m%d%H%M', gmtime($_[0])) }

sub send_receipt {
    my ($s, $submit, $id_resp, $id_num, $submitted_at) = @_;
    my $dest = $submit->{destination_addr} // '';
    my ($stat, $err, $state) = ('DELIVRD', 0, 2);
    ($stat, $err, $state) = ('UNDELIV', 1, 5) if $dest =~ /0005$/;
    my $with_tlvs = $dest !~ /0007$/;
    my $body = $submit->{short_message} // '';
    $body = substr($body, ord(substr($body, 0, 1)) + 1) if (($submit->{esm_class} // 0) & 0x40) && length $body;
    (my $excerpt = substr($body, 0, 20)) =~ tr/\x20-\x7e/./c;
    my $text = sprintf('id:%s sub:001 dlvrd:%03d submit date:%s done date:%s stat:%s err:%03d text:%s',
        $id_num, $stat eq 'DELIVRD' ? 1 : 0, receipt_time($submitted_at), receipt_time(time), $stat, $err, $excerpt);
    my @tlvs;
    if ($with_tlvs) {
        push @tlvs, receipted_message_id => "$id_resp\0", message_state => pack('C', $state);
        push @tlvs, network_error_code => pack('Cn', 3, $err) if $err;
    }
    my $seq = $s->{sock}->deliver_sm(
        service_type => '', source_addr_ton => $submit->{dest_addr_ton}, source_addr_npi => $submit->{dest_addr_npi},
        source_addr => $dest, dest_addr_ton => $submit->{source_addr_ton}, dest_addr_npi => $submit->{source_addr_npi},
        destination_addr => $submit->{source_addr}, esm_class => 0x04, protocol_id => 0, priority_flag => 0,
        schedule_delivery_time => '', validity_period => '', registered_delivery => 0, replace_if_present_flag => 0,
        data_coding => 0, sm_default_msg_id => 0, short_message => $text, @tlvs, async => 1,
    );
    emit({ event => 'sent', session => $s->{id}, command => 'deliver_sm', kind => 'receipt', seq => $seq, message_id => $id_resp,
           stat => $stat, err => $err, tlvs => $with_tlvs ? JSON::PP::true : JSON::PP::false, text => $text });
}

sub on_submit {
    my ($s, $pdu) = @_;
    my $n = ++$submits;
    my $num = $first_id + $n;
    my $hex = $n % 2 == 1;
    my $id = $hex ? sprintf('%x', $num) : "$num";
    $s->{sock}->submit_sm_resp(seq => $pdu->{seq}, message_id => $id);
    emit({ event => 'resp', session => $s->{id}, command => 'submit_sm_resp', seq => $pdu->{seq}, message_id => $id,
           id_form => $hex ? 'hex' : 'decimal', destination_addr => $pdu->{destination_addr} });
    return unless (($pdu->{registered_delivery} // 0) & 0x03);
    my $submitted_at = time;
    my $sid = $s->{id};
    push @timers, [ $submitted_at + $opt{'dlr-delay-ms'} / 1000, $sid, sub {
        my $now = session_by_id($sid) or return emit({ event => 'error', error => "receipt for $id dropped: session $sid gone" });
        send_receipt($now, $pdu, $id, $num, $submitted_at);
    } ];
}

sub on_pdu {
    my ($s, $pdu) = @_;
    my $cmd = $pdu->{cmd};
    my $known = Net::SMPP::pdu_tab->{$cmd};
    my $name = $known ? $known->{cmd} : sprintf('unknown_0x%08x', $cmd);
    emit(describe($s, $pdu, $name));
    if (exists $bind_resp{$cmd}) {
        my $method = $bind_resp{$cmd};
        if ($s->{bound}) {
            $s->{sock}->$method(seq => $pdu->{seq}, status => ESME_RALYBND, system_id => 'NETSMPP');
            return;
        }
        if (($pdu->{system_id} // '') ne $opt{'system-id'} || ($pdu->{password} // '') ne $opt{password}) {
            $s->{sock}->$method(seq => $pdu->{seq}, status => ESME_RBINDFAIL, system_id => 'NETSMPP');
            emit({ event => 'bind', session => $s->{id}, status => ESME_RBINDFAIL, system_id => $pdu->{system_id} });
            close_session($s, 'bind refused');
            return;
        }
        $s->{sock}->$method(seq => $pdu->{seq}, status => ESME_ROK, system_id => 'NETSMPP');
        $s->{bound} = 1;
        $s->{receives} = $cmd != Net::SMPP::CMD_bind_transmitter;
        $s->{bound_at} = time;
        emit({ event => 'bind', session => $s->{id}, status => ESME_ROK, system_id => $pdu->{system_id}, mode => $name });
    } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
        $s->{sock}->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == Net::SMPP::CMD_unbind) {
        $s->{sock}->unbind_resp(seq => $pdu->{seq});
        close_session($s, 'unbind');
    } elsif ($cmd == Net::SMPP::CMD_submit_sm) {
        return $s->{sock}->submit_sm_resp(seq => $pdu->{seq}, status => ESME_RINVBNDSTS, message_id => '') unless $s->{bound};
        on_submit($s, $pdu);
    } elsif ($cmd & 0x80000000) {
        # deliver_sm_resp, enquire_link_resp, generic_nack: logged above, nothing to answer.
    } else {
        $s->{sock}->generic_nack(seq => $pdu->{seq}, status => ESME_RINVCMDID);
    }
}

sub inject_mo {
    my ($from, $to, $dc, $esm, $hex, @extra) = @_;
    die "usage: MO <from> <to> <data_coding> <esm_class> <hex> [tlv=value ...]\n" unless defined $hex && $hex =~ /^(?:[0-9a-fA-F]{2})*$/;
    my ($s) = sort { $b->{bound_at} <=> $a->{bound_at} } grep { $_->{bound} && $_->{receives} } values %sessions;
    die "no bound receiving session\n" unless $s;
    my @tlvs;
    for (@extra) {
        my ($k, $v) = /^(\w+)=(\S*)$/ or die "bad TLV $_\n";
        if    ($k eq 'sar_msg_ref_num')                                { push @tlvs, $k => pack('n', $v) }
        elsif ($k eq 'sar_total_segments' || $k eq 'sar_segment_seqnum') { push @tlvs, $k => pack('C', $v) }
        elsif ($k eq 'message_payload')                                { push @tlvs, $k => pack('H*', $v) }
        else { die "unsupported TLV $k\n" }
    }
    my $short = $to =~ /^\d{1,8}$/;
    my $seq = $s->{sock}->deliver_sm(
        service_type => '', source_addr_ton => 1, source_addr_npi => 1, source_addr => $from,
        dest_addr_ton => $short ? 3 : 1, dest_addr_npi => $short ? 0 : 1, destination_addr => $to,
        esm_class => $esm =~ /^0x/i ? hex($esm) : $esm, protocol_id => 0, priority_flag => 0, schedule_delivery_time => '',
        validity_period => '', registered_delivery => 0, replace_if_present_flag => 0,
        data_coding => $dc =~ /^0x/i ? hex($dc) : $dc, sm_default_msg_id => 0, short_message => pack('H*', $hex), @tlvs, async => 1,
    );
    emit({ event => 'sent', session => $s->{id}, command => 'deliver_sm', kind => 'mo', seq => $seq, source_addr => $from,
           destination_addr => $to, short_message => lc $hex });
}

sub on_command {
    my ($line) = @_;
    $line =~ s/^\s+|\s+$//g;
    return if $line eq '';
    my ($verb, @args) = split /\s+/, $line;
    if ($verb eq 'QUIT') {
        emit({ event => 'quit' });
        exit 0;
    }
    eval {
        die "unknown command $verb\n" unless $verb eq 'MO';
        inject_mo(@args);
        1;
    } or do {
        (my $e = $@) =~ s/\s+$//;
        emit({ event => 'error', command => $line, error => $e });
    };
}

for (;;) {
    my $now = time;
    my $wait = 1;
    for my $t (@timers) { my $d = $t->[0] - $now; $wait = $d if $d < $wait }
    $wait = 0 if $wait < 0;
    for my $fh ($select->can_read($wait)) {
        if ($fh == $listener) {
            my $sock = $listener->accept or next;
            my $s = { sock => $sock, fd => fileno($sock), id => ++$next_session, bound => 0, receives => 0, bound_at => 0 };
            $sessions{ $s->{fd} } = $s;
            $select->add($sock);
            emit({ event => 'connect', session => $s->{id} });
        } elsif ($fh == \*STDIN) {
            my $n = sysread(STDIN, $stdin_buf, 65536, length $stdin_buf);
            if (!$n) {
                emit({ event => 'stdin closed' });
                exit 0;
            }
            while ($stdin_buf =~ s/^([^\n]*)\n//) { on_command($1) }
        } else {
            my $s = $sessions{ fileno($fh) } or next;
            my $pdu = $s->{sock}->read_pdu;
            if (!$pdu) {
                close_session($s, 'closed by peer');
                next;
            }
            on_pdu($s, $pdu);
        }
    }
    $now = time;
    my @due = grep { $_->[0] <= $now } @timers;
    @timers = grep { $_->[0] > $now } @timers;
    $_->[2]->() for @due;
}
