//! RFC 8785 (JCS) vectors and properties of the compliance hash.

use cx_audit::{canonical_json, compliance_hash, sha256_hex};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn canonical_string(value: &Value) -> Result<String, std::string::FromUtf8Error> {
    String::from_utf8(canonical_json(value))
}

/// (input JSON text, canonical output): RFC 8785 §3.2.2 and §3.2.3 examples,
/// plus number and string-escaping rules of §3.2.2.2 and §3.2.2.3.
const TEXT_VECTORS: &[(&str, &str)] = &[
    // RFC 8785 §3.2.2, the worked example.
    (
        r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#,
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}",
    ),
    // RFC 8785 §3.2.3, sorting by UTF-16 code units: the emoji (a surrogate
    // pair starting 0xD83D) sorts before U+FB33, unlike code-point order.
    (
        r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#,
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
    ),
    // Numbers: ECMAScript Number.prototype.toString.
    ("1e+30", "1e+30"),
    ("1E30", "1e+30"),
    ("4.50", "4.5"),
    ("2e-3", "0.002"),
    ("0.000001", "0.000001"),
    ("1e-7", "1e-7"),
    ("1.0", "1"),
    ("-0.0", "0"),
    // Strings: two-character escapes, \u00xx (lower case) for other controls,
    // everything else (including U+007F, "/" and non-ASCII) as is.
    (r#""\b\t\n\f\r""#, r#""\b\t\n\f\r""#),
    (r#""\u0000\u001F""#, r#""\u0000\u001f""#),
    ("\"\\u007f\"", "\"\u{7f}\""),
    (r#""\u00e9\/""#, "\"\u{e9}/\""),
    // No insignificant whitespace anywhere.
    ("[ 1 , { \"a\" : [ ] } ]", "[1,{\"a\":[]}]"),
];

#[test]
fn rfc_8785_text_vectors() -> TestResult {
    for (input, want) in TEXT_VECTORS {
        let value: Value = serde_json::from_str(input)?;
        assert_eq!(canonical_string(&value)?, *want, "input: {input}");
    }
    Ok(())
}

/// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical form.
const NUMBER_VECTORS: &[(u64, &str)] = &[
    (0x0000_0000_0000_0000, "0"),
    (0x8000_0000_0000_0000, "0"),
    (0x0000_0000_0000_0001, "5e-324"),
    (0x8000_0000_0000_0001, "-5e-324"),
    (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
    (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
    (0x4340_0000_0000_0000, "9007199254740992"),
    (0xc340_0000_0000_0000, "-9007199254740992"),
    (0x4430_0000_0000_0000, "295147905179352830000"),
    (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
    (0x44b5_2d02_c7e1_4af6, "1e+23"),
    (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
    (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
    (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
    (0x444b_1ae4_d6e2_ef50, "1e+21"),
    (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
    (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
    (0x41b3_de43_5555_5553, "333333333.3333332"),
    (0x41b3_de43_5555_5554, "333333333.33333325"),
    (0x41b3_de43_5555_5555, "333333333.3333333"),
    (0x41b3_de43_5555_5556, "333333333.3333334"),
    (0x41b3_de43_5555_5557, "333333333.33333343"),
    (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
    (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
];

#[test]
fn rfc_8785_appendix_b_numbers() -> TestResult {
    for &(bits, want) in NUMBER_VECTORS {
        let value = json!(f64::from_bits(bits));
        assert_eq!(canonical_string(&value)?, want, "bits {bits:#018x}");
    }
    Ok(())
}

#[test]
fn hash_is_sha256_of_the_canonical_form() {
    let value = json!({"b": [1, 2.5, "x"], "a": null});
    assert_eq!(compliance_hash(&value), sha256_hex(&canonical_json(&value)));
    let hash = compliance_hash(&value);
    assert_eq!(hash.len(), 64);
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
}

#[test]
fn hash_ignores_member_order_whitespace_and_number_spelling() -> TestResult {
    let spellings = [
        r#"{"workflowId":"wf_1","priority":2,"context":{"customerId":"CUST-99887","score":85.0},"tags":["a","b"]}"#,
        r#"{"tags":["a","b"],"context":{"score":85,"customerId":"CUST-99887"},"priority":2,"workflowId":"wf_1"}"#,
        "{ \"priority\" : 2.00 ,\n \"tags\" : [ \"a\" , \"b\" ],\n \"workflowId\" : \"wf_1\",\n \"context\" : { \"score\" : 8.5e1, \"customerId\" : \"CUST-99887\" } }",
    ];
    let hashes = spellings
        .iter()
        .map(|text| serde_json::from_str(text).map(|v: Value| compliance_hash(&v)))
        .collect::<Result<Vec<_>, _>>()?;
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    // ...but not array order or values.
    let other: Value = serde_json::from_str(
        r#"{"workflowId":"wf_1","priority":2,"context":{"customerId":"CUST-99887","score":85},"tags":["b","a"]}"#,
    )?;
    assert_ne!(compliance_hash(&other), hashes[0]);
    Ok(())
}

/// Arbitrary JSON values: every kind of number, strings with controls,
/// quotes, backslashes, non-ASCII and astral characters, nested containers,
/// member names that sort differently in UTF-8 and UTF-16.
fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let text = || {
        proptest::string::string_regex(
            "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é€\u{e000}\u{fb33}\u{ffff}😀/]{0,12}",
        )
        .unwrap_or_else(|e| panic!("bad regex: {e}"))
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1_000_000i64..1_000_000, 0u32..12)
            .prop_map(|(m, e)| Value::from(m as f64 / 10f64.powi(e as i32))),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// Our canonical writer (the hashing path) produces exactly what the
    /// reference RFC 8785 implementation (`serde_json_canonicalizer`) does.
    #[test]
    fn the_fast_writer_matches_the_reference_implementation(value in any_json()) {
        let reference = serde_json_canonicalizer::to_vec(&value)
            .unwrap_or_else(|e| panic!("reference failed: {e}"));
        proptest::prop_assert_eq!(canonical_json(&value), reference);
    }
}
