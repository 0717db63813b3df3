package FixMyStreet::Cobrand;
use strict; use warnings;
package FixMyStreet::Cobrand::Stub;
# A cobrand whose hooks do nothing (no open311_munge_* hooks): plain Open311 behaviour.
sub new { my ($c, %a) = @_; bless { base_url => 'https://fms.example.org', %a }, $c }
sub call_hook { return }
sub base_url { $_[0]{base_url} }
sub moniker { 'fixmystreet' }
1;
