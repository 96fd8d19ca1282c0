#!/usr/bin/env perl
# pec-worker.pl: an OpenPEC-style pre-forked worker on Mail::PEC::Engine.
#
# OpenPEC runs its points as pre-forked Perl daemons between two Postfix instances: Postfix
# hands each message over SMTP, the daemon decides and signs, and re-injects the result with
# Net::SMTP. This worker keeps that shape and hands the decisions, the state, the signing and
# the timers to the engine of libpec:
#
#   pec-worker.pl --config engine.toml --point access|incoming --listen 127.0.0.1:10024 \
#       [--workers 4] [--store sqlite:PATH] [--relay HOST:PORT] [--route DOMAIN=HOST:PORT]... \
#       [--loopback HOST:PORT] [--maildir DIR] [--pidfile FILE]
#
# Each child accepts SMTP connections on the shared listening socket; for each message it
# calls the engine (submission at the access point, inbound at the incoming point), sends
# every message of the outcome by its route with Net::SMTP (relay: --route for the domain, else
# --relay; loopback: --loopback, the provider's own incoming point; deliver: stores in
# --maildir/ADDRESS/new and reports with mailbox_result; service-mailbox: --maildir), acks
# each message once sent, and answers the client with the engine's reply. When sending fails
# the message stays unacknowledged and the client gets 451: its retry gets the same bytes
# from the engine. A timer child runs the 12 h / 24 h notices (run_due) and re-sends what was
# never acknowledged (unsent) every --tick seconds. The parent only supervises (restarting a
# child that exits) and opens no engine: an engine must not cross a fork.
use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use IO::Socket::INET ();
use IO::Handle ();
use File::Path qw(make_path);
use Net::SMTP ();
use POSIX qw(WNOHANG);
use Time::HiRes ();
use Mail::PEC;

my %o = (workers => 4, tick => 60, point => 'access', route => []);
GetOptions(\%o, 'config=s', 'store=s', 'point=s', 'listen=s', 'workers=i', 'relay=s',
           'route=s@', 'loopback=s', 'maildir=s', 'pidfile=s', 'tick=i')
    && $o{config} && $o{listen} && $o{point} =~ /\A(?:access|incoming)\z/
    or die "usage: $0 --config FILE --point access|incoming --listen HOST:PORT [...]\n";
my %routes = map { my ($d, $hp) = split /=/, $_, 2; (lc $d => $hp) } @{ $o{route} };

# ---- sending ----------------------------------------------------------------------------

sub smtp_send {
    my ($hostport, $from, $rcpts, $data) = @_;
    my ($host, $port) = split /:/, $hostport;
    my $smtp = Net::SMTP->new($host, Port => $port, Timeout => 60)
        or die "connect $hostport: $@\n";
    $smtp->mail(length $from ? $from : '<>') or die "MAIL FROM refused by $hostport\n";
    for my $r (@$rcpts) {
        $smtp->to($r) or die "RCPT TO $r refused by $hostport\n";
    }
    $smtp->data($data) or die "DATA refused by $hostport: " . $smtp->message . "\n";
    $smtp->quit;
}

sub store {
    my ($rcpt, $data) = @_;
    die "no --maildir for $rcpt\n" unless $o{maildir};
    my $box = "$o{maildir}/" . lc $rcpt;
    make_path("$box/tmp", "$box/new", "$box/cur");
    my $name = sprintf '%.6f.%d.%d.pec', Time::HiRes::time(), $$, int rand 1e9;
    open my $fh, '>:raw', "$box/tmp/$name" or die "$box: $!\n";
    print {$fh} $data;
    close $fh or die "$box: $!\n";
    rename "$box/tmp/$name", "$box/new/$name" or die "$box: $!\n";
}

sub dispatch;

sub send_message {
    my ($engine, $m) = @_;
    for my $g ($m->groups) {
        my ($route, $to) = ($g->{route}, $g->{rcpt_to});
        if ($route eq 'relay') {
            my %by;
            for my $r (@$to) {
                my ($domain) = $r =~ /\@([^@]+)\z/;
                my $dest = $routes{ lc($domain // '') } // $o{relay}
                    or die "no route to $r (--route or --relay)\n";
                push @{ $by{$dest} }, $r;
            }
            smtp_send($_, $m->mail_from, $by{$_}, $m->data) for sort keys %by;
        } elsif ($route eq 'loopback') {
            die "no --loopback for a loopback message\n" unless $o{loopback};
            smtp_send($o{loopback}, $m->mail_from, $to, $m->data);
        } elsif ($route eq 'deliver') {
            my @results;
            for my $r (@$to) {
                if (eval { store($r, $m->data); 1 }) {
                    push @results, { rcpt => $r, outcome => 'stored' };
                } else {
                    push @results, { rcpt => $r, outcome => 'temporary', status => '4.3.0',
                                     text => "$@" };
                }
            }
            dispatch($engine, $engine->mailbox_result(data => $m->data,
                mail_from => $m->mail_from, results => \@results));
        } elsif ($route eq 'service-mailbox') {
            store($_, $m->data) for @$to;
        } else {
            die "unknown route $route\n";
        }
    }
}

# Sends every message of the outcome not sent yet, acking each once it went out.
sub dispatch {
    my ($engine, $out) = @_;
    for my $m ($out->unsent_messages) {
        send_message($engine, $m);
        $engine->ack($m);
    }
}

# ---- one SMTP session -------------------------------------------------------------------

sub reply_for {
    my ($engine, $from, $rcpts, $data) = @_;
    my $out = eval {
        $o{point} eq 'access'
            ? $engine->submission(data => $data, mail_from => $from, rcpt_to => $rcpts)
            : $engine->inbound(data => $data, mail_from => $from, rcpt_to => $rcpts);
    };
    if (my $e = $@) {
        my $temporary = ref $e && ($e->code == 800 || $e->code == 305 || ($e->code >= 500 && $e->code < 600));
        return $temporary ? '451 4.3.0 try again later' : '554 5.6.0 ' . (ref $e ? $e->message : $e);
    }
    unless (eval { dispatch($engine, $out); 1 }) {
        warn "pec-worker[$$]: sending failed, the client will retry: $@";
        return '451 4.4.0 could not pass the message on, try again later';
    }
    return $out->reply->{line};
}

sub session {
    my ($engine, $c) = @_;
    $c->autoflush(1);
    print {$c} "220 pec-worker ready\r\n";
    my ($from, @rcpts);
    while (defined(my $line = <$c>)) {
        $line =~ s/\r?\n\z//;
        if ($line =~ /\A(?:HELO|EHLO)\b/i) {
            print {$c} "250 pec-worker\r\n";
        } elsif ($line =~ /\AMAIL FROM:\s*<([^>]*)>/i) {
            ($from, @rcpts) = ($1);
            print {$c} "250 2.1.0 ok\r\n";
        } elsif ($line =~ /\ARCPT TO:\s*<([^>]+)>/i) {
            push @rcpts, $1;
            print {$c} "250 2.1.5 ok\r\n";
        } elsif ($line =~ /\ADATA\b/i) {
            unless (defined $from && @rcpts) {
                print {$c} "503 5.5.1 MAIL and RCPT first\r\n";
                next;
            }
            print {$c} "354 end with .\r\n";
            my $data = '';
            while (defined(my $l = <$c>)) {
                last if $l =~ /\A\.\r?\n\z/;
                $l =~ s/\A\.//;
                $l =~ s/\r?\n\z/\r\n/;
                $data .= $l;
            }
            print {$c} reply_for($engine, $from, [@rcpts], $data), "\r\n";
            ($from, @rcpts) = ();
        } elsif ($line =~ /\ARSET\b/i) {
            ($from, @rcpts) = ();
            print {$c} "250 2.0.0 ok\r\n";
        } elsif ($line =~ /\ANOOP\b/i) {
            print {$c} "250 2.0.0 ok\r\n";
        } elsif ($line =~ /\AQUIT\b/i) {
            print {$c} "221 2.0.0 bye\r\n";
            last;
        } else {
            print {$c} "502 5.5.2 not implemented\r\n";
        }
    }
    close $c;
}

# ---- the pre-forked pool ----------------------------------------------------------------

my $listen = IO::Socket::INET->new(LocalAddr => $o{listen}, Listen => 64, ReuseAddr => 1)
    or die "listen $o{listen}: $@\n";
if ($o{pidfile}) {
    open my $fh, '>', $o{pidfile} or die "$o{pidfile}: $!\n";
    print {$fh} "$$\n";
    close $fh;
}

# The parent only supervises: it never opens an engine, because an engine (its SQLite
# connections, its threads) must not cross a fork. Each child opens its own: the SMTP children
# and one timer child that runs the 12 h / 24 h notices and re-sends what was never acked.
my %children;    # pid => 'smtp' | 'timers'
my $stopping = 0;
$SIG{TERM} = $SIG{INT} = sub { $stopping = 1 };

sub open_engine {
    my $engine = eval { Mail::PEC::Engine->new(config => $o{config}, store => $o{store}) };
    return $engine if $engine;
    # 75 (EX_TEMPFAIL): the parent starts another after a pause
    warn "pec-worker: child $$: cannot open the engine: $@";
    exit 75;
}

sub spawn {
    my ($kind) = @_;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        $SIG{TERM} = $SIG{INT} = 'DEFAULT';
        my $engine = open_engine();
        if ($kind eq 'timers') {
            close $listen;
            while (1) {
                sleep $o{tick};
                for my $out ($engine->run_due, $engine->unsent) {
                    eval { dispatch($engine, $out); 1 } or warn "pec-worker: tick: $@";
                }
            }
        }
        while (my $c = $listen->accept) {
            session($engine, $c);
        }
        exit 0;
    }
    $children{$pid} = $kind;
}

spawn('smtp') for 1 .. $o{workers};
spawn('timers');
until ($stopping) {
    Time::HiRes::sleep(0.2);
    while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
        my $kind = delete $children{$pid} or next;
        next if $stopping;
        Time::HiRes::sleep(1) if $? >> 8 == 75;
        spawn($kind);
    }
}
# never leave children behind: they hold the listening socket (and the caller's output)
kill 'TERM', keys %children;
waitpid($_, 0) for keys %children;
exit 0;
