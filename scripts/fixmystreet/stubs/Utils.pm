package Utils;
# Stub: truncate_coordinate exactly as FixMyStreet's perllib/Utils.pm (minus mySociety::Locale::in_gb_locale,
# which only forces a '.' decimal point; this harness runs in the C locale).
use strict; use warnings;
sub truncate_coordinate {
    my $in = shift;
    my $out = sprintf( '%0.6f', $in );
    $out =~ s{\.?0+\z}{} if $out =~ m{\.};
    return $out;
}
1;
