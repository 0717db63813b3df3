#!/usr/bin/perl
# Drive townops' Open311 server with FixMyStreet's own Open311 client (perllib/Open311.pm,
# extracted unchanged from the FixMyStreet mirror) and record every request it sends.
#
#   scripts/fixmystreet/run.sh (sets FMS_WORK, default /tmp/fms, and runs this)
#
# Env: FMS_BASE (default http://127.0.0.1:8311), FMS_API_KEY (default: $FMS_WORK/apikey.txt),
#      FMS_STEPS (default "abcdefgh"; h must come last: it uses up the look-up limit).
use strict;
use warnings;
use utf8;
use open qw(:std :encoding(UTF-8));
use FindBin;
my $WORK;
BEGIN { $WORK = $ENV{FMS_WORK} || '/tmp/fms' }
use lib "$FindBin::Bin/stubs", "$WORK/perllib";

use Open311;
use Open311::UpdatesBase;
use DateTime;
use DateTime::Format::W3CDTF;
use LWP::UserAgent;
use HTTP::Request::Common qw(GET POST);
use JSON::PP;
use Path::Tiny 'path';
use Encode qw(encode decode);
use Data::Dumper;
$Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 1;

my $BASE = $ENV{FMS_BASE} || 'http://127.0.0.1:8311';
my $ENDPOINT = "$BASE/open311/v2/";
my $API_KEY = $ENV{FMS_API_KEY} || do { my $k = path("$WORK/apikey.txt")->slurp; $k =~ s/\s+//g; $k };
my $JURISDICTION = 'gaohang.pudong.shanghai.cn';
my $STEPS = $ENV{FMS_STEPS} || 'abcdefgh';
my $CAP = path("$WORK/capture");
$CAP->mkpath;
my $STATE = path("$WORK/state.json");
my %state = $STATE->exists ? %{ decode_json($STATE->slurp_raw) } : ();

# ---------------------------------------------------------------------------------------
# Recording: wrap the client's one HTTP call. The request object is the one Open311.pm
# built (HTTP::Request::Common); nothing in it is changed.
my $seq = scalar grep { /\.request$/ } map { $_->basename } $CAP->children;
our $LABEL = 'unlabelled';
my @LOG;
{
    no warnings 'redefine';
    my $orig = \&Open311::_make_request;
    *Open311::_make_request = sub {
        my ($self, $req) = @_;
        my $res = $orig->(@_);
        $seq++;
        my $name = sprintf('%02d-%s', $seq, $LABEL);
        my $head = $req->method . ' ' . $req->uri->path_query . " HTTP/1.1\n"
            . 'Content-Type: ' . ($req->header('Content-Type') // '') . "\n"
            . (defined $req->header('Content-Length') ? 'Content-Length: ' . $req->header('Content-Length') . "\n" : '');
        $CAP->child("$name.request")->spew_raw($head . "\n" . ($req->content // ''));
        $CAP->child("$name.response")->spew_raw(
            $res->status_line . "\nContent-Type: " . ($res->header('Content-Type') // '') . "\n"
            . (defined $res->header('Retry-After') ? 'Retry-After: ' . $res->header('Retry-After') . "\n" : '')
            . "\n" . ($res->content // ''));
        printf "  [http] %s %s -> %s  (%s)\n", $req->method, substr($req->uri->path_query, 0, 110), $res->status_line, $name;
        return $res;
    };
}

my ($pass, $fail, $notes) = (0, 0, 0);
sub ok { my ($cond, $what, $detail) = @_;
    if ($cond) { $pass++; print "PASS $what\n" } else { $fail++; print "FAIL $what" . (defined $detail ? " -- $detail" : '') . "\n" }
    return $cond }
sub note { $notes++; print "NOTE $_[0]\n" }
my $losses = 0;
sub loss { $losses++; print "LOSS $_[0]\n" }   # accepted by the client, but information is lost or changed

sub client { Open311->new(endpoint => $ENDPOINT, jurisdiction => $JURISDICTION, api_key => $API_KEY,
    fixmystreet_body => FixMyStreet::DB::Result::Body->new(name => '高行镇'), @_) }

# ---------------------------------------------------------------------------------------
# The town's side: townops' own API as staff.
my $ua = LWP::UserAgent->new(timeout => 30);
my %tokens;
sub staff_token { my $u = shift;
    return $tokens{$u} //= do {
        my $r = $ua->post("$BASE/api/v1/auth/token", { username => $u, password => 'demo1234' });
        die "login $u: " . $r->status_line . ' ' . $r->decoded_content unless $r->is_success;
        decode_json($r->content)->{access_token} } }
sub api { my ($user, $method, $path, $body) = @_;
    my $req = HTTP::Request->new($method => "$BASE$path", [ Authorization => 'Bearer ' . staff_token($user) ]);
    if ($body) { $req->header('Content-Type' => 'application/json'); $req->content(encode_json($body)) }
    my $r = $ua->request($req);
    my $data = eval { decode_json($r->content) };
    return ($r, $data) }
sub act { my ($user, $id, $action, %body) = @_;
    my (undef, $case) = api('dispatcher', GET => "/api/v1/cases/$id");
    my ($r, $d) = api($user, POST => "/api/v1/cases/$id/actions/$action", { version => $case->{version}, %body });
    ok($r->is_success, "town: $user $action case $id", $r->status_line . ' ' . $r->decoded_content);
    return $d }
sub case_state { my (undef, $c) = api('dispatcher', GET => "/api/v1/cases/$_[0]"); return $c }

# ---------------------------------------------------------------------------------------
# FixMyStreet-side objects: a report and its user, as SendReport::Open311 hands them over.
my $user = FixMyStreet::DB::Result::User->new(email => 'wang.xiaoming@example.org', name => '王 小明', phone => '13812345678');
sub problem { my %a = @_;
    FixMyStreet::DB::Result::Problem->new(
        id => 1201, name => '王 小明', user => $user, title => '路灯不亮：金高路东侧',
        detail => "金高路200号东侧的路灯连续三晚不亮，晚上行人看不清路。\n灯杆铭牌 GH-0123。",
        latitude => 31.2699931, longitude => 121.6097134, used_map => 1, postcode => '',
        cobrand => 'fixmystreet', state => 'confirmed', non_public => 0,
        extra_fields => [ { name => 'pole_number', value => 'GH-0123' }, { name => 'fault', value => 'out' } ],
        %a) }
my %h = (   # what Queue::Item::Report::_create_vars passes as $extra
    url => 'https://fms.example.org/report/1201',
    image_url => 'https://fms.example.org/photo/1201.0.full.jpeg',
    all_image_urls => [ 'https://fms.example.org/photo/1201.0.full.jpeg', 'https://fms.example.org/photo/1201.1.full.jpeg' ],
);

sub last_response { my $label = shift;
    my ($f) = sort { $b cmp $a } grep { /-\Q$label\E\.response$/ } map { $_->basename } $CAP->children;
    my $t = $CAP->child($f)->slurp_raw; $t =~ s/^.*?\n\n//s; return decode('UTF-8', $t) }

# ---------------------------------------------------------------------------------------
if ($STEPS =~ /a/) {
    print "== (a) get_service_list, get_service_meta_info('street_light')\n";
    my $o = client();
    local $LABEL = 'get_services';
    my $list = $o->get_service_list;
    ok($o->success && ref $list->{service} eq 'ARRAY', 'get_service_list parses', $o->error);
    my ($sl) = grep { $_->{service_code} eq 'street_light' } @{ $list->{service} || [] };
    ok($sl && $sl->{metadata} eq 'true', "street_light listed with metadata=true (group: " . (ref $sl->{group} ? "[@{$sl->{group}}]" : $sl->{group} // '?') . ")");
    # PopulateServiceList::_set_contact_from_keywords treats these keywords as flags
    my @flagged = grep { my %k = map { $_ => 1 } split /,/, ($_->{keywords} || ''); $k{private} || $k{inactive} || $k{staff} || $k{waste_only} } @{ $list->{service} };
    ok(!@flagged, 'no service carries a keyword FixMyStreet reads as a flag (private/inactive/staff/waste_only)');
    # PopulateServiceList reads: service_code, service_name, metadata, group (and keywords/type)
    note('services: ' . scalar(@{ $list->{service} }) . ' listed');
    local $LABEL = 'get_service_definition';
    my $meta = $o->get_service_meta_info('street_light');
    ok(ref $meta->{attributes} eq 'ARRAY', 'definition attributes is an ARRAY (what PopulateServiceList::_add_meta_to_contact requires)');
    my %attr = map { $_->{code} => $_ } @{ ref $meta->{attributes} eq 'ARRAY' ? $meta->{attributes} : [] };
    ok($attr{pole_number} && $attr{fault}, 'service definition has pole_number and fault');
    ok(ref $attr{fault}{values} eq 'ARRAY' && @{ $attr{fault}{values} } == 4, 'fault has 4 values (ForceArray value)');
    ok(!defined $attr{pole_number}{values}, 'pole_number <values /> parses as undef (SuppressEmpty)');
    print Dumper($attr{fault});
    # PopulateServiceList checks $meta->{service_code} eq the code; check it is there
    ok(($meta->{service_code} // '') eq 'street_light', 'definition carries service_code');
}

if ($STEPS =~ /b/) {
    print "== (b) send_service_request, urlencoded, multi_photos with two image URLs\n";
    my $o = client(multi_photos => 1, extended_description => 1);
    local $LABEL = 'post_request';
    my $id = $o->send_service_request(problem(), { %h }, 'street_light');
    ok($id && $id =~ /^\d+$/, "send_service_request returned service_request_id '" . ($id // '') . "'", $o->error);
    my $obj = $o->_get_xml_object(last_response('post_request'));
    $state{case1} = $id; $state{token1} = $obj->{request}[0]{token};
    ok($state{token1}, "answer also carries token $state{token1}");
    my $case = case_state($id);
    ok($case->{category} eq 'street_light' || ($case->{category}{code} // '') eq 'street_light', 'case category street_light');
    my $rname = $case->{requester}{name} // '';
    ok($rname eq '王 小明' || $rname eq '王小明', "requester name kept in order: FMS name '王 小明' -> first_name=王 last_name=小明 -> townops '$rname'");
    print "  case as staff see it: ", JSON::PP->new->canonical->encode({ map { $_ => $case->{$_} } grep { /requester|content|attributes|media|state|lat|lon|address|photos/ } keys %$case }), "\n";
}

if ($STEPS =~ /c/) {
    print "== (c) send_service_request, upload_files + always_upload_photos (multipart photo1/photo2)\n";
    my $o = client(multi_photos => 1, upload_files => 1, always_upload_photos => 1);
    local $LABEL = 'post_request_multipart';
    my $p = problem(id => 1202, title => '路灯闪烁：东靖路', latitude => 31.2886791, longitude => 121.5992214,
        detail => "东靖路绿洲三村门口的路灯一直闪烁，晃眼。",
        extra_fields => [ { name => 'pole_number', value => 'GH-0456' }, { name => 'fault', value => 'flickering' } ],
        photos_files => [
        { id => '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c.jpeg', path => "$WORK/img/a.jpeg" },
        { id => '9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d.jpeg', path => "$WORK/img/b.jpeg" } ]);
    my $id = $o->send_service_request($p, { %h, url => 'https://fms.example.org/report/1202' }, 'street_light');
    ok($id && $id =~ /^\d+$/, "multipart send_service_request returned '" . ($id // '') . "'", $o->error);
    $state{case2} = $id;
    my $case = case_state($id);
    my $n = scalar @{ $case->{photos} || [] };
    ok($n == 2, "case $id has 2 stored photos (got $n)");
    print "== (c2) the same report as (b) again, from another FixMyStreet report: townops links it\n";
    $o = client(multi_photos => 1);
    local $LABEL = 'post_request_duplicate';
    my $id3 = $o->send_service_request(problem(id => 1203, name => '李四', user => FixMyStreet::DB::Result::User->new(email => 'li.si@example.org')),
        { %h, url => 'https://fms.example.org/report/1203', image_url => undef }, 'street_light');
    ok($id3, "duplicate send_service_request returned '" . ($id3 // '') . "'", $o->error);
    $state{case3} = $id3;
    note("case $id3 is now '" . case_state($id3)->{state} . "'");
}

if ($STEPS =~ /d/) {
    print "== (d) get_service_request_id_from_token\n";
    my $o = client();
    local $LABEL = 'get_token';
    my $id = $o->get_service_request_id_from_token($state{token1});
    ok(($id // '') eq $state{case1}, "token $state{token1} -> $id");
}

if ($STEPS =~ /e/) {
    print "== (e) the town moves the cases: dispatch, accept, resolve with reply + photo\n";
    for my $k (qw(case1 case2)) {
        my $id = $state{$k};
        my $c = case_state($id);
        print "  case $id state $c->{state}, department ", JSON::PP->new->allow_nonref->encode($c->{department}), "\n";
        act('dispatcher', $id, 'dispatch', department => 'construction_office') if $c->{state} eq 'received';
        act('construction', $id, 'accept');
        my $r = $ua->request(POST "$BASE/api/v1/media/photos", Authorization => 'Bearer ' . staff_token('construction'),
            Content_Type => 'form-data', Content => [ file => [ "$WORK/img/resolved.jpeg", 'resolved.jpeg', Content_Type => 'image/jpeg' ] ]);
        ok($r->is_success, 'town: upload resolution photo', $r->status_line . $r->decoded_content);
        my $photo = decode_json($r->content)->{id};
        my $reply = $k eq 'case1' ? '已更换金高路200号东侧GH-0123灯杆的灯泡和镇流器，现已恢复照明。' : '东靖路路灯控制器已更换，不再闪烁。';
        $state{"reply_$k"} = $reply;
        act('construction', $id, 'resolve', reply => $reply, photos => [ $photo ]);
        ok(case_state($id)->{state} eq 'resolved', "case $id resolved");
    }
}

my %FMS_STATE_FOR = (ACTION_SCHEDULED => 'action scheduled', IN_PROGRESS => 'in progress', FIXED => 'fixed - council',
    OPEN => 'confirmed', INVESTIGATING => 'investigating', DUPLICATE => 'duplicate', CLOSED => 'fixed - council');
if ($STEPS =~ /f/) {
    print "== (f) get_service_request_updates(start, end)\n";
    my $now = DateTime->now;
    my @args = map { DateTime::Format::W3CDTF->format_datetime($_) } ($now->clone->add(hours => -2), $now->clone->add(minutes => 1));
    my $o = client();
    local $LABEL = 'get_updates';
    my $updates = $o->get_service_request_updates(@args);
    ok($o->success && ref $updates eq 'ARRAY', 'get_service_request_updates parses (' . scalar(@{ $updates || [] }) . ' updates)', $o->error);
    my $ub = Open311::UpdatesBase->new;
    my %ours = map { $_ => 1 } grep { defined } @state{qw(case1 case2 case3)};
    my @mine = grep { $ours{$_->{service_request_id}} } @{ $updates || [] };
    ok(@mine >= 7, scalar(@mine) . ' updates for our two cases');
    for my $u (@mine) {
        my $fms_state = $o->map_state($u->{status});
        printf "  update %s case %s %-16s -> '%s'  %s  media=%s  desc=%s\n", $u->{update_id}, $u->{service_request_id}, $u->{status},
            $fms_state, $u->{updated_datetime}, ($u->{media_url} ? 'yes' : 'no'), $u->{description} // '';
        ok(!ref $u->{update_id} && !ref $u->{description} && !ref $u->{status}, "update $u->{update_id}: scalar fields");
        ok(FixMyStreet::DB::Result::Problem->visible_states()->{$fms_state}, "update $u->{update_id}: map_state($u->{status}) = '$fms_state' is a FixMyStreet state");
        my %r = %$u;
        ok($ub->check_date(\%r, @args), "update $u->{update_id}: check_date in window ($u->{updated_datetime})");
        my ($text) = $ub->comment_text_for_request(undef, \%r, problem());
        ok(length $text, "update $u->{update_id}: comment text '$text'");
        if ($u->{status} eq 'FIXED') {
            my $k = $u->{service_request_id} eq $state{case2} ? 'case2' : 'case1';   # case3 is linked to case1
            ok(($u->{description} // '') eq $state{"reply_$k"}, "FIXED update description is the reply");
            if ($u->{service_request_id} eq ($state{case3} // '')) {
                loss("FIXED update $u->{update_id} of the linked case $u->{service_request_id} has no media_url (the resolution photo of case $state{case1} is not passed on)") unless $u->{media_url};
                loss("DUPLICATE/FIXED updates of case $u->{service_request_id} never say which request it was linked to");
                next;
            }
            ok($u->{media_url}, 'FIXED update has media_url');
            if ($u->{media_url}) {
                my $res = LWP::UserAgent->new->get($u->{media_url});   # as add_media does
                ok($res->is_success && $res->content_type =~ m{image/(jpeg|pjpeg|gif|tiff|png|webp)}, 'media_url downloads as ' . ($res->content_type // '?') . ' (' . length($res->content) . ' bytes)', $res->status_line);
                my $comment = FixMyStreet::DB::Result::Comment->new;
                $o->add_media($u->{media_url}, $comment);
                ok($comment->photo, 'add_media attached the photo to the comment (' . ($comment->photo // '') . ')');
            }
        }
    }
    my %seen = map { $o->map_state($_->{status}) => 1 } @mine;
    ok($seen{$_}, "saw state '$_'") for ('action scheduled', 'in progress', 'fixed - council');
    # Also what GetServiceRequestUpdates->parse_dates sends by default (last 2 hours, no end offset)
}

if ($STEPS =~ /g/) {
    print "== (g) post_service_request_update: a comment with status OPEN on the resolved case\n";
    my $comment_for = sub { my ($id, $cid, $text, %a) = @_;
        my $p = problem(external_id => $id, state => 'fixed - council');
        FixMyStreet::DB::Result::Comment->new(id => $cid, name => '王 小明', user => $user, problem => $p,
            problem_state => 'confirmed', mark_open => 1, text => $text,
            confirmed => DateTime->now(time_zone => 'Asia/Shanghai')->set_nanosecond(123456789), cobrand => 'fixmystreet', %a) };
    for my $variant ([ 'case1', 5001, 0, 'post_update' ], [ 'case2', 5002, 1, 'post_update_extended' ]) {
        my ($k, $cid, $ext, $label) = @$variant;
        my $id = $state{$k};
        my $o = client(extended_statuses => $ext);
        local $LABEL = $label;
        my $c = $comment_for->($id, $cid, '灯还是不亮，昨晚八点路过时整段路仍然一片漆黑。');
        my $uid = $o->post_service_request_update($c);
        ok($uid && $uid =~ /^\d+$/, "extended_statuses=$ext: post_service_request_update returned update_id '" . ($uid // '') . "'", $o->error);
        my $sent = $CAP->child((sort grep { /-\Q$label\E\.request$/ } map { $_->basename } $CAP->children)[-1])->slurp_raw;
        ok($sent =~ /status=OPEN/, "extended_statuses=$ext sends status=OPEN");
        local $LABEL = "${label}_again";
        my $uid2 = $o->post_service_request_update($c);
        ok(($uid2 // '') eq ($uid // 'x'), "same comment id again -> same update_id ($uid2)");
        local $LABEL = "get_request_after_$label";
        my $ua2 = LWP::UserAgent->new; my $r = $ua2->get("${ENDPOINT}requests/$id.json?jurisdiction_id=$JURISDICTION");
        my $st = eval { decode_json($r->content)->[0]{status} } // $r->status_line;
        ok($st eq 'open', "case $id status back to open after the comment (got $st); engine state " . case_state($id)->{state});
        $state{"update_$k"} = $uid;
    }
    # A comment with a photo, as multipart (upload_files_for_updates + always_upload_photos)
    {
        my $o = client(upload_files_for_updates => 1, always_upload_photos => 1);
        local $LABEL = 'post_update_multipart';
        my $c = $comment_for->($state{case2}, 5003, '补一张照片：灯罩也裂了。',
            photo => '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c.jpeg',
            photos => [ { url_full => '/photo/c/5003.0.full.jpeg' } ],
            photos_files => [ { id => '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c.jpeg', path => "$WORK/img/a.jpeg" } ],
            problem_state => 'confirmed');
        my $uid = $o->post_service_request_update($c);
        ok($uid && $uid =~ /^\d+$/, "multipart post_service_request_update returned '" . ($uid // '') . "'", $o->error);
    }
    # A comment with a photo, as media_url (FixMyStreet's default: no uploads)
    {
        my $o = client();
        local $LABEL = 'post_update_media_url';
        my $c = $comment_for->($state{case1}, 5004, '又拍了一张。',
            photo => '9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d.jpeg', photos => [ { url_full => '/photo/c/5004.0.full.jpeg' } ]);
        my $uid = $o->post_service_request_update($c);
        ok($uid && $uid =~ /^\d+$/, "media_url post_service_request_update returned '" . ($uid // '') . "'", $o->error);
    }
    # The updates feed again: FixMyStreet skips an update whose update_id it holds as a comment's external_id
    {
        my $now = DateTime->now;
        my @args = map { DateTime::Format::W3CDTF->format_datetime($_) } ($now->clone->add(hours => -2), $now->clone->add(minutes => 1));
        my $o = client();
        local $LABEL = 'get_updates_after_comments';
        my $updates = $o->get_service_request_updates(@args) || [];
        my %ours = map { $_ => 1 } grep { defined } @state{qw(update_case1 update_case2)};
        for my $u (grep { $_->{service_request_id} eq $state{case1} || $_->{service_request_id} eq $state{case2} } @$updates) {
            loss("update $u->{update_id}: the comment's media_url was folded into the description text, no <media_url>") if ($u->{description} // '') =~ m{https?://} && !$u->{media_url};
            printf "  update %s case %s %-16s -> '%s' %s desc=%s\n", $u->{update_id}, $u->{service_request_id}, $u->{status},
                $o->map_state($u->{status}), ($ours{$u->{update_id}} ? '(FMS has it: skipped)' : ''), $u->{description} // '';
        }
    }
}

if ($STEPS =~ /h/) {
    print "== (h) get_service_requests({report_ids => [...]}) with > 1000 ids\n";
    my @real = grep { defined } @state{qw(case1 case2 case3)};
    my @ids = map { 900000 + $_ } 1 .. 1100;
    splice @ids, 1050, 0, $real[0];
    splice @ids, 1080, 0, $real[2] if $real[2];
    push @ids, $real[1];
    my $o = client();
    local $LABEL = 'get_requests_by_ids';
    my $reqs = $o->get_service_requests({ report_ids => [ @ids ] });
    ok($o->success, 'get_service_requests with ' . scalar(@ids) . ' ids answered', $o->error);
    my %got = map { $_->{service_request_id} => $_ } @{ $reqs || [] };
    my %pos; $pos{$ids[$_]} //= $_ + 1 for 0 .. $#ids;
    ok($got{$_}, "real id $_ came back (position $pos{$_} of " . scalar(@ids) . ")") for @real;
    for my $r (values %got) {
        my %rr = %$r; $rr{description} = $rr{status_notes};   # as GetUpdates::update_reports
        note("request $r->{service_request_id}: status_notes (what GetUpdates turns into a comment) '$r->{status_notes}'");
        ok(Open311::UpdatesBase->new->check_date(\%rr), "request $r->{service_request_id}: check_date ok, status $r->{status} -> " . $o->map_state($r->{status}));
    }
    # FixMyStreet runs this on every fetch: the second run
    local $LABEL = 'get_requests_by_ids_again';
    my $again = $o->get_service_requests({ report_ids => [ @ids ] });
    ok($o->success, 'second get_service_requests run answered', $o->error =~ s/\n.*//sr);
    local $LABEL = 'get_requests_real_only_after';
    my $only = $o->get_service_requests({ report_ids => [ @real ] });
    ok($o->success, 'get_service_requests with only the real ids answered afterwards', $o->error =~ s/\n.*//sr);
    local $LABEL = 'get_token_after';
    my $tid = $o->get_service_request_id_from_token($state{token1});
    ok(($tid // 0) eq $state{case1}, "token look-up afterwards -> " . ($tid // 0), $o->error =~ s/\n.*//sr);
}

if ($STEPS =~ /i/) {
    print "== (i) how many ids fit in FixMyStreet's one GET /requests (6-digit ids; real ids zero-padded, so no look-up misses)\n";
    my @real = grep { defined } @state{qw(case1 case2 case3)};
    for my $n (1000, 2000, 2300, 3000, 5000, 10000) {
        my @ids = map { sprintf('%06d', $real[$_ % @real]) } 0 .. $n - 1;
        my $o = client();
        local $LABEL = "get_requests_${n}_ids";
        my $reqs = $o->get_service_requests({ report_ids => [ @ids ] });
        my $len = length(URI->new($ENDPOINT . 'requests.xml')->as_string) + length(join('%2C', @ids)) + 60;
        ok($o->success && @{ $reqs || [] } == @real, "$n ids (URL about $len bytes): " . ($o->success ? scalar(@{ $reqs || [] }) . ' requests back' : $o->error =~ s/\n.*//sr));
    }
}

$STATE->spew_raw(encode_json(\%state));
print "\n$pass passed, $fail failed\n";
print "($notes notes, $losses losses)\n";
exit($fail ? 1 : 0);
