package FixMyStreet::App::Model::PhotoSet;
# Stub: photos are files on disk, ids "<name>.jpeg" as FMS names them (<sha1>.jpeg).
use strict; use warnings;
use Path::Tiny 'path';
sub new { my ($c, $a) = @_; bless { %$a }, $c }
sub all_ids { map { $_->{id} } @{ $_[0]{files} || [] } }
sub get_image_data {
    my ($s, %args) = @_;
    my $f = $s->{files}[ $args{num} || 0 ] or return;
    my ($id, $type) = split /\./, $f->{id};
    return { data => path($f->{path})->slurp_raw, content_type => "image/$type" };
}
# add_media: PhotoSet->new({ data_items => [...] })->data  => what FMS stores in comment.photo
sub data { my $s = shift; $s->{data_items} ? join(',', map { length($_) . 'bytes' } @{ $s->{data_items} }) : '' }
sub data_items { $_[0]{data_items} }
1;
