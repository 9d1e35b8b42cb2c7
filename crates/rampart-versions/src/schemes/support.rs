//! Small pieces shared by the hand-written schemes: arbitrary-length decimal comparison (no
//! overflow, no big-integer dependency) and the `Ord`-derived trait boilerplate.

use std::cmp::Ordering;

/// Compares two runs of ASCII digits by numeric value, whatever their length: leading zeros
/// are ignored, then the longer run is larger, then the runs compare digit by digit.
pub(crate) fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A run of digits with its leading zeros removed ("" is zero), so that derived equality and
/// ordering are numeric.
pub(crate) fn canonical_decimal(digits: &str) -> String {
    digits.trim_start_matches('0').to_string()
}

/// Implements `PartialOrd`, `PartialEq`, `Eq` from the type's `Ord`, so that equality always
/// agrees with the ecosystem's ordering (`1.0 == 1.0.0` where the ecosystem says so), and
/// `Display` as the text the version was parsed from.
macro_rules! ordering_from_cmp_and_display_from_text {
    ($type:ty) => {
        impl PartialOrd for $type {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $type {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $type {}

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.text)
            }
        }
    };
}
pub(crate) use ordering_from_cmp_and_display_from_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_decimals_of_any_length() {
        assert_eq!(cmp_decimal("010", "9"), Ordering::Greater);
        assert_eq!(cmp_decimal("000", ""), Ordering::Equal);
        assert_eq!(
            cmp_decimal(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
        assert_eq!(
            cmp_decimal("1000000000000000000000000000000000000000000", "99"),
            Ordering::Greater
        );
        assert_eq!(canonical_decimal("007"), "7");
    }
}
