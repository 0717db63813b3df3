package FixMyStreet::ImageMagick;
# Stub: Image::Magick is not installed; FixMyStreet's own module is a no-op without it too.
use strict; use warnings;
sub new { my ($c, %a) = @_; bless { %a }, $c }
sub auto_orient { $_[0] }
sub shrink { $_[0] }
sub as_blob { $_[0]{blob} }
1;
