//! UTC times in the one form sigtrail writes them, `YYYY-MM-DDTHH:MM:SSZ`,
//! converted to and from seconds since the Unix epoch with the proleptic
//! Gregorian calendar (no leap seconds).

use crate::Error;

/// The latest time that has the form: 9999-12-31T23:59:59Z.
pub const MAX_UTC_TIME: u64 = 253_402_300_799;

const SECONDS_PER_DAY: u64 = 86_400;

/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_DAY_OFFSET: u64 = 719_468;

/// Days in a 400-year cycle of the Gregorian calendar.
const DAYS_PER_ERA: u64 = 146_097;

fn is_leap_year(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a valid date in 1970..=9999 (the algorithm of
/// H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", on years
/// starting in March so that the leap day ends the year).
fn days_from_civil(year: u32, month: u32, day: u32) -> u64 {
    let year = u64::from(if month <= 2 { year - 1 } else { year });
    let (month, day) = (u64::from(month), u64::from(day));
    let era = year / 400;
    let year_of_era = year - era * 400;
    let march_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_DAY_OFFSET
}

/// The date `days` days after 1970-01-01: the inverse of
/// [`days_from_civil`].
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let days = days + EPOCH_DAY_OFFSET;
    let era = days / DAYS_PER_ERA;
    let day_of_era = days - era * DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    // Each value is bounded by the calendar: the casts cannot truncate.
    (year as u32, month as u32, day as u32)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
///
/// # Errors
///
/// [`Error::TimeOutOfRange`] after [`MAX_UTC_TIME`].
pub fn format_utc(seconds: u64) -> Result<String, Error> {
    if seconds > MAX_UTC_TIME {
        return Err(Error::TimeOutOfRange {
            got: seconds,
            max: MAX_UTC_TIME,
        });
    }
    let (year, month, day) = civil_from_days(seconds / SECONDS_PER_DAY);
    let of_day = seconds % SECONDS_PER_DAY;
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    ))
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into seconds since the Unix epoch.
///
/// # Errors
///
/// [`Error::BadTimeSyntax`] for anything but that exact form,
/// [`Error::YearBeforeEpoch`], [`Error::InvalidDate`] for a day that does not
/// exist (February 30, month 13), [`Error::InvalidTimeOfDay`] for hour 24,
/// minute 60 or second 60.
pub fn parse_utc(s: &str) -> Result<u64, Error> {
    const PATTERN: &[u8; 20] = b"dddd-dd-ddTdd:dd:ddZ";
    let bytes = s.as_bytes();
    let well_formed = bytes.len() == PATTERN.len()
        && bytes.iter().zip(PATTERN).all(|(&b, &p)| match p {
            b'd' => b.is_ascii_digit(),
            _ => b == p,
        });
    if !well_formed {
        return Err(Error::BadTimeSyntax);
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    if year < 1970 {
        return Err(Error::YearBeforeEpoch { year });
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(Error::InvalidDate { year, month, day });
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(Error::InvalidTimeOfDay {
            hour,
            minute,
            second,
        });
    }
    let of_day = u64::from(hour) * 3600 + u64::from(minute) * 60 + u64::from(second);
    Ok(days_from_civil(year, month, day) * SECONDS_PER_DAY + of_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_times() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_709_164_800, "2024-02-29T00:00:00Z"),
            (1_795_600_800, "2026-11-25T10:00:00Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (MAX_UTC_TIME, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(format_utc(seconds).as_deref(), Ok(text));
            assert_eq!(parse_utc(text), Ok(seconds));
        }
        assert_eq!(
            format_utc(MAX_UTC_TIME + 1),
            Err(Error::TimeOutOfRange {
                got: MAX_UTC_TIME + 1,
                max: MAX_UTC_TIME
            })
        );
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        let mut previous = civil_from_days(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..=MAX_UTC_TIME / SECONDS_PER_DAY {
            let (year, month, day) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let expected = if pd < days_in_month(py, pm) {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((year, month, day), expected, "day {days}");
            assert_eq!(days_from_civil(year, month, day), days);
            previous = (year, month, day);
        }
        assert_eq!(previous, (9999, 12, 31));
    }

    #[test]
    fn impossible_dates_and_times_are_rejected() {
        let date = |year, month, day| Err(Error::InvalidDate { year, month, day });
        assert_eq!(parse_utc("2026-02-30T00:00:00Z"), date(2026, 2, 30));
        assert_eq!(parse_utc("2023-02-29T00:00:00Z"), date(2023, 2, 29));
        assert_eq!(parse_utc("2100-02-29T00:00:00Z"), date(2100, 2, 29));
        assert_eq!(parse_utc("2026-04-31T00:00:00Z"), date(2026, 4, 31));
        assert_eq!(parse_utc("2026-13-01T00:00:00Z"), date(2026, 13, 1));
        assert_eq!(parse_utc("2026-00-01T00:00:00Z"), date(2026, 0, 1));
        assert_eq!(parse_utc("2026-01-00T00:00:00Z"), date(2026, 1, 0));
        let time = |hour, minute, second| {
            Err(Error::InvalidTimeOfDay {
                hour,
                minute,
                second,
            })
        };
        assert_eq!(parse_utc("2026-01-01T24:00:00Z"), time(24, 0, 0));
        assert_eq!(parse_utc("2026-01-01T00:60:00Z"), time(0, 60, 0));
        assert_eq!(parse_utc("2016-12-31T23:59:60Z"), time(23, 59, 60));
        assert_eq!(
            parse_utc("1969-12-31T23:59:59Z"),
            Err(Error::YearBeforeEpoch { year: 1969 })
        );
    }

    #[test]
    fn other_forms_are_rejected() {
        for bad in [
            "2026-11-25T10:00:00",
            "2026-11-25T10:00:00z",
            "2026-11-25t10:00:00Z",
            "2026-11-25 10:00:00Z",
            "2026-11-25T10:00:00.0Z",
            "2026-11-25T10:00:00+00:00",
            "26-11-25T10:00:00Z",
            "+2026-11-25T10:00Z",
            "2026-1-25T10:00:00Z ",
            "２026-11-25T10:00:00Z",
            "",
        ] {
            assert_eq!(parse_utc(bad), Err(Error::BadTimeSyntax), "{bad:?}");
        }
    }
}
