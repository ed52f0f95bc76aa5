//! RFC 3339 timestamps to Unix microseconds, fast (issue 13: the analyzer
//! reads two per step, and chrono's general parser was a tenth of its
//! time).
//!
//! The common form — `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to 9
//! digits, then `Z` or `±HH:MM` — is read directly; anything else (a lower
//! case `t`/`z`, a space for `T`, a leap second, a longer fraction, an
//! error) goes to chrono's `parse_from_rfc3339`, so both paths accept and
//! refuse the same strings and give the same value (a property test checks
//! it).

use chrono::DateTime;

/// `raw` as Unix microseconds (fractions below a microsecond dropped, as
/// `chrono::DateTime::timestamp_micros` does), or `None` when it is not
/// RFC 3339 with a zone.
pub(crate) fn unix_micros(raw: &str) -> Option<i64> {
    Instants::default().unix_micros(raw)
}

/// A reader of many times that remembers the hour of the last one read
/// (its `YYYY-MM-DDTHH` and that hour's Unix seconds): the steps of an
/// interaction mostly fall in one hour, so their date is read once.
#[derive(Debug, Default)]
pub(crate) struct Instants {
    hour: Option<([u8; 13], i64)>,
}

impl Instants {
    /// As [`unix_micros`].
    pub(crate) fn unix_micros(&mut self, raw: &str) -> Option<i64> {
        self.fast(raw.as_bytes()).or_else(|| {
            DateTime::parse_from_rfc3339(raw)
                .ok()
                .map(|t| t.timestamp_micros())
        })
    }

    /// The common form, or `None` (then chrono decides). Issue 13: two a
    /// step, so it reads fixed positions, with no allocation and few
    /// branches, and the date only when the hour changes.
    fn fast(&mut self, b: &[u8]) -> Option<i64> {
        let (head, rest) = b.split_first_chunk::<13>()?;
        let hour_secs = match self.hour {
            Some((hour, secs)) if hour == *head => secs,
            _ => {
                let secs = hour_start(head)?;
                self.hour = Some((*head, secs));
                secs
            }
        };
        let (minutes, rest) = rest.split_first_chunk::<6>()?;
        let [b':', mi0, mi1, b':', s0, s1] = *minutes else {
            return None;
        };
        let (minute, second) = (decimal(&[mi0, mi1])?, decimal(&[s0, s1])?);
        if minute > 59 || second > 59 {
            return None;
        }
        let mut micros = 0i64;
        let zone = match rest.split_first() {
            Some((b'.', fraction)) => {
                let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
                let (frac, zone) = fraction.split_at_checked(digits)?;
                let scale = FRACTION_SCALE.get(digits).filter(|_| digits > 0)?;
                // Scale to nanoseconds, then drop below the microsecond.
                micros = decimal(frac)? * scale / 1000;
                zone
            }
            _ => rest,
        };
        let offset = match *zone {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
                let (h, m) = (decimal(&[h0, h1])?, decimal(&[m0, m1])?);
                if h > 23 || m > 59 {
                    return None;
                }
                let secs = h * 3600 + m * 60;
                if sign == b'+' { secs } else { -secs }
            }
            _ => return None,
        };
        let secs = hour_secs + minute * 60 + second - offset;
        Some(secs * 1_000_000 + micros)
    }
}

/// `10^(9 - n)`: scales a fraction of `n` digits to nanoseconds.
const FRACTION_SCALE: [i64; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1000,
    100,
    10,
    1,
];

/// The decimal number `digits` spells, or `None` when one is not a digit.
#[inline]
fn decimal(digits: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + i64::from(d);
    }
    Some(n)
}

/// Unix seconds of the hour `YYYY-MM-DDTHH` (before any zone offset), or
/// `None` when it is not a valid date and hour.
fn hour_start(head: &[u8; 13]) -> Option<i64> {
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1] = *head else {
        return None;
    };
    let year = decimal(&[y0, y1, y2, y3])?;
    let (month, day, hour) = (
        decimal(&[mo0, mo1])?,
        decimal(&[d0, d1])?,
        decimal(&[h0, h1])?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian `year-month-day`
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_micros(raw: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| t.timestamp_micros())
    }

    #[test]
    fn the_fast_path_agrees_with_chrono_on_edges() {
        for raw in [
            "2026-11-21T12:00:00.000Z",
            "2026-11-21T12:00:00Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2024-02-29T01:02:03.5+05:30",
            "2023-02-29T01:02:03Z",
            "2026-11-21T12:00:00.123456789-08:00",
            "2026-11-21T12:00:00.1234567891Z",
            "2026-11-21T24:00:00Z",
            "2026-11-21T23:59:60Z",
            "2026-11-21t12:00:00z",
            "2026-11-21 12:00:00Z",
            "2026-11-21T12:00:00",
            "2026-11-21T12:00:00.Z",
            "2026-11-21T12:00:00+24:00",
            "2026-13-01T00:00:00Z",
            "2026-11-21T12:00:00Zjunk",
            "",
        ] {
            assert_eq!(unix_micros(raw), chrono_micros(raw), "{raw}");
        }
        assert!(
            Instants::default()
                .fast(b"2026-11-21T12:00:00.000Z")
                .is_some()
        );
    }

    proptest! {
        #[test]
        fn agrees_with_chrono(
            year in 0i64..=9999, month in 1i64..=12, day in 1i64..=31,
            hour in 0i64..=24, minute in 0i64..=60, second in 0i64..=60,
            frac in proptest::option::of("[0-9]{1,10}"),
            zone in prop_oneof![Just("Z".to_owned()), (0i64..=24, 0i64..=60, any::<bool>())
                .prop_map(|(h, m, plus)| format!("{}{h:02}:{m:02}", if plus { '+' } else { '-' }))],
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let raw = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}{zone}");
            prop_assert_eq!(unix_micros(&raw), chrono_micros(&raw), "{}", raw);
        }

        #[test]
        fn a_reused_reader_agrees_with_chrono(
            times in proptest::collection::vec(
                "2026-0[1-2]-2[89]T1[0-1]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,4})?(Z|[+-]0[0-2]:[0-6]0)",
                1..20,
            ),
        ) {
            let mut reader = Instants::default();
            for raw in &times {
                prop_assert_eq!(reader.unix_micros(raw), chrono_micros(raw), "{}", raw);
            }
        }
    }
}
