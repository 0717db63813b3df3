package FixMyStreet::DB;
# Stub: no database. Holds the plain-Perl Problem/Comment/Body/User objects that the
# Open311 client is handed, with exactly the methods Open311.pm calls.
use strict; use warnings;
use FixMyStreet;   # as the real FixMyStreet::DB does (and it loads Readonly, which UpdatesBase.pm needs)
sub schema { die "FixMyStreet::DB stub: no database\n" }
sub resultset { die "FixMyStreet::DB stub: no database\n" }

package FixMyStreet::DB::Result::Body;
sub new { my ($c, %a) = @_; bless { %a }, $c }
sub get_cobrand_handler { return undef }   # => falls back to $obj->get_cobrand_logged
sub name { $_[0]{name} // 'Gaohang' }
sub areas { {} }

package FixMyStreet::DB::Result::User;
sub new { my ($c, %a) = @_; bless { %a }, $c }
sub email { $_[0]{email} }
sub phone { $_[0]{phone} }
sub name { $_[0]{name} }

package FixMyStreet::DB::Result::Problem;
# FixMyStreet's states as in db/fixture.sql + the hard-coded confirmed/closed and fixed - *.
my @OPEN = ('confirmed', 'investigating', 'in progress', 'planned', 'action scheduled');
my @CLOSED = ('closed', 'unable to fix', 'not responsible', 'duplicate', 'internal referral', 'cancelled');
my @FIXED = ('fixed', 'fixed - user', 'fixed - council');
sub open_states   { wantarray ? @OPEN  : { map { $_ => 1 } @OPEN } }
sub fixed_states  { wantarray ? @FIXED : { map { $_ => 1 } @FIXED } }
sub closed_states { wantarray ? @CLOSED : { map { $_ => 1 } @CLOSED } }
sub visible_states { my @v = (@OPEN, @CLOSED, @FIXED); wantarray ? @v : { map { $_ => 1 } @v } }
sub new { my ($c, %a) = @_; bless { extra_fields => [], extra_metadata => {}, %a }, $c }
for my $f (qw(id name detail title latitude longitude user phone_waste used_map postcode
              uprn non_public external_id state cobrand cobrand_data service bodies)) {
    no strict 'refs';
    *{$f} = sub { my $s = shift; $s->{$f} = shift if @_; $s->{$f} };
}
sub photo { my $s = shift; $s->{photo} = shift if @_; $s->{photos_files} && @{$s->{photos_files}} ? join(',', map { $_->{id} } @{$s->{photos_files}}) : $s->{photo} }
sub get_extra_fields { $_[0]{extra_fields} }
sub get_extra_metadata { my ($s, $k) = @_; defined $k ? $s->{extra_metadata}{$k} : $s->{extra_metadata} }
sub set_extra_metadata { my ($s, $k, $v) = @_; $s->{extra_metadata}{$k} = $v }
sub get_photoset { FixMyStreet::App::Model::PhotoSet->new({ files => $_[0]{photos_files} || [] }) }
sub get_cobrand_logged { FixMyStreet::Cobrand::Stub->new }
sub send_fail_count { 0 }

package FixMyStreet::DB::Result::Comment;
sub new { my ($c, %a) = @_; bless { extra_metadata => {}, %a }, $c }
for my $f (qw(id name text user problem problem_state confirmed mark_open extra cobrand cobrand_data)) {
    no strict 'refs';
    *{$f} = sub { my $s = shift; $s->{$f} = shift if @_; $s->{$f} };
}
sub photo { my $s = shift; $s->{photo} = shift if @_; $s->{photo} }
sub photos { $_[0]{photos} || [] }
sub get_extra_metadata { my ($s, $k) = @_; defined $k ? $s->{extra_metadata}{$k} : $s->{extra_metadata} }
sub set_extra_metadata { my ($s, $k, $v) = @_; $s->{extra_metadata}{$k} = $v }
sub get_photoset { FixMyStreet::App::Model::PhotoSet->new({ files => $_[0]{photos_files} || [] }) }
sub get_cobrand_logged { FixMyStreet::Cobrand::Stub->new }
sub send_fail_count { 0 }
1;
