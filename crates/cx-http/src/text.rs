//! Server text made safe for a terminal.
//!
//! Anything a server sends (an error message, a status, a name) may carry
//! ESC, OSC or NUL bytes that a terminal would act on. [`escape`] is the one
//! function every printer of server text goes through: it shows control
//! characters visibly (`\u{1b}`) and leaves everything else as it is. JSON
//! output does not need it (serde escapes control characters itself).

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) and the bidirectional
/// overrides shown as `\u{..}` escapes; borrowed when there is nothing to
/// escape.
///
/// ```
/// assert_eq!(cx_http::escape("ok"), "ok");
/// assert_eq!(cx_http::escape("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_visible() {
        let cases = [
            ("plain text", "plain text"),
            ("tab\there", "tab\\u{9}here"),
            ("nul\0", "nul\\u{0}"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("c1\u{9b}", "c1\\u{9b}"),
            ("rtl\u{202e}", "rtl\\u{202e}"),
            ("ünïcode ✓", "ünïcode ✓"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }
}
