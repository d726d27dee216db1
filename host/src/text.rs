//! Text from outside banger (plugins' messages, error chains that quote a server, a file or an
//! archive entry) made inert before it reaches a terminal: control characters and Unicode
//! direction overrides are shown escaped (`\u{1b}`), never sent raw, so no source can move the
//! cursor, rewrite a line or recolour what the user reads. Catalog entries are refused outright
//! when they hold control characters (`banger_catalog::validate_text`); this is for what cannot
//! be refused.

use std::borrow::Cow;

/// `text` with every control character and direction override escaped.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if needs_escape(c) {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Print a warning on stderr, made inert.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("warning: {}", inert(&message.to_string()));
}

/// Retry notices from the fetch crate, printed as warnings.
pub fn notice() -> banger_fetch::Notice {
    std::sync::Arc::new(|line: &str| warn(line))
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(inert("plain text, ünïcode"), "plain text, ünïcode");
        assert_eq!(
            inert("ok\r\x1b[32mverified\x1b[0m\u{9b}\u{7f}"),
            "ok\\r\\u{1b}[32mverified\\u{1b}[0m\\u{9b}\\u{7f}"
        );
        assert_eq!(inert("a\u{202e}b"), "a\\u{202e}b");
    }
}
