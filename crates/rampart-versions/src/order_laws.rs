//! Property-test checks every scheme must satisfy, shared by the schemes' proptests:
//! antisymmetry, transitivity, `==` agreeing with `Ord`, and Display parsing back to an equal
//! version (and to the same text, so Display is a normal form).

use std::cmp::Ordering;

use proptest::prelude::*;

use crate::{Scheme, Version};

fn parse(scheme: Scheme, text: &str) -> Result<Version, TestCaseError> {
    scheme
        .parse(text)
        .map_err(|err| TestCaseError::fail(format!("strategy made an unparseable version: {err}")))
}

/// Checks every law on three versions drawn from a scheme's strategy.
pub(crate) fn check_order_laws(
    scheme: Scheme,
    a: &str,
    b: &str,
    c: &str,
) -> Result<(), TestCaseError> {
    check_pair_laws(scheme, a, b)?;
    check_pair_laws(scheme, b, c)?;
    check_pair_laws(scheme, a, c)?;
    check_transitivity(scheme, a, b, c)
}

/// Antisymmetry, reflexivity, `==` agreeing with `cmp`, and the round trip of both.
pub(crate) fn check_pair_laws(scheme: Scheme, a: &str, b: &str) -> Result<(), TestCaseError> {
    let (x, y) = (parse(scheme, a)?, parse(scheme, b)?);
    prop_assert_eq!(
        x.cmp(&y),
        y.cmp(&x).reverse(),
        "antisymmetry: {} vs {}",
        x,
        y
    );
    prop_assert_eq!(
        x == y,
        x.cmp(&y) == Ordering::Equal,
        "== vs cmp: {} vs {}",
        x,
        y
    );
    prop_assert_eq!(x.cmp(&x), Ordering::Equal);
    check_round_trip(scheme, &x)?;
    check_round_trip(scheme, &y)
}

/// `<=` and `==` are transitive over the three, in every arrangement.
pub(crate) fn check_transitivity(
    scheme: Scheme,
    a: &str,
    b: &str,
    c: &str,
) -> Result<(), TestCaseError> {
    let (va, vb, vc) = (parse(scheme, a)?, parse(scheme, b)?, parse(scheme, c)?);
    let arrangements = [
        (&va, &vb, &vc),
        (&va, &vc, &vb),
        (&vb, &va, &vc),
        (&vb, &vc, &va),
        (&vc, &va, &vb),
        (&vc, &vb, &va),
    ];
    for (x, y, z) in arrangements {
        if x <= y && y <= z {
            prop_assert!(
                x <= z,
                "transitivity: {} <= {} <= {} but not {} <= {}",
                x,
                y,
                z,
                x,
                z
            );
        }
        if x == y && y == z {
            prop_assert!(x == z, "transitivity of ==: {} {} {}", x, y, z);
        }
    }
    Ok(())
}

/// Display parses back to an equal version, and displaying that gives the same text.
pub(crate) fn check_round_trip(scheme: Scheme, version: &Version) -> Result<(), TestCaseError> {
    let shown = version.to_string();
    let reparsed = scheme
        .parse(&shown)
        .map_err(|err| TestCaseError::fail(format!("Display of {version:?} unparseable: {err}")))?;
    prop_assert_eq!(&reparsed, version, "round trip through {:?}", shown);
    prop_assert_eq!(reparsed.to_string(), shown);
    Ok(())
}
