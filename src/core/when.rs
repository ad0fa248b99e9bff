//! Times as people read them: "3 min ago", and a clock time in the local zone. Both faces
//! use these, so the list in the TUI and `ifs-connect list` say the same. (`--json` keeps
//! RFC 3339; that is for programs.)

use time::{OffsetDateTime, UtcOffset};

/// The local zone's offset, read once at start. Reading it needs a single-threaded process
/// on Unix (the `time` crate refuses otherwise, as the C library's zone code is not
/// thread-safe), so call this before any runtime or logger thread starts; UTC when unknown.
pub fn local_offset() -> UtcOffset {
    UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC)
}

/// "just now", "3 min ago", "2 h ago", "4 d ago"; a time in the future (clock skew) is
/// "just now".
pub fn ago(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let seconds = (now - at).whole_seconds().max(0);
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// "16:05" on `now`'s day, "2026-11-28 16:05" on another, in `now`'s offset; " UTC" is
/// added when that offset is UTC, so a reader never takes UTC for local time.
pub fn clock(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let at = at.to_offset(now.offset());
    let time = format!("{:02}:{:02}", at.hour(), at.minute());
    let zone = if now.offset().is_utc() { " UTC" } else { "" };
    if at.date() == now.date() {
        format!("{time}{zone}")
    } else {
        format!("{} {time}{zone}", at.date())
    }
}

/// "3 min ago (16:05)": both, for a detail line.
pub fn ago_and_clock(at: OffsetDateTime, now: OffsetDateTime) -> String {
    format!("{} ({})", ago(at, now), clock(at, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::{datetime, offset};

    #[test]
    fn ages_read_like_a_person_says_them() {
        let now = datetime!(2026-11-29 16:00 UTC);
        assert_eq!(ago(now - Duration::seconds(5), now), "just now");
        assert_eq!(ago(now - Duration::minutes(3), now), "3 min ago");
        assert_eq!(ago(now - Duration::hours(2), now), "2 h ago");
        assert_eq!(ago(now - Duration::days(9), now), "9 d ago");
        assert_eq!(ago(now + Duration::minutes(1), now), "just now");
    }

    #[test]
    fn clock_times_are_local_and_say_utc_only_when_they_are() {
        let utc = datetime!(2026-11-29 16:00 UTC);
        let at = utc - Duration::minutes(3);
        assert_eq!(clock(at, utc), "15:57 UTC");
        assert_eq!(clock(at - Duration::days(1), utc), "2026-11-28 15:57 UTC");
        let berlin = utc.to_offset(offset!(+1));
        assert_eq!(clock(at, berlin), "16:57");
        assert_eq!(ago_and_clock(at, berlin), "3 min ago (16:57)");
    }
}
