package FixMyStreet;
# Stub of FixMyStreet's config/env module: only what Open311.pm and UpdatesBase.pm call.
use strict; use warnings;
use Readonly ();   # UpdatesBase.pm uses Readonly::Scalar without importing it (FMS loads it elsewhere)
use DateTime::TimeZone;
our %CONFIG = (
    O311_POLLING_INTERVAL => 0,
    O311_POLLING_MAX_TRIES => 2,
    DO_NOT_REPLY_EMAIL => 'do-not-reply@example.org',
    UPLOAD_DIR => '/tmp/fms/upload',
    TIME_ZONE => 'Asia/Shanghai',
);
sub config { my ($class, $key) = @_; return $CONFIG{$key}; }
sub test_mode { 0 }
sub path_to { '/tmp/fms' }
sub local_time_zone { DateTime::TimeZone->new(name => $CONFIG{TIME_ZONE}) }
1;
