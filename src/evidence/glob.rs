//! `--exclude` patterns: shell-style globs over path bytes.
//!
//! A pattern without `/` is matched against each entry's name (so `*.tmp` or `Thumbs.db`
//! apply at any depth, as in `.gitignore`); a pattern with `/` is matched against the path
//! relative to its evidence root (`Windows/**`, `Users/*/AppData`). `*` matches any run of
//! bytes except `/`, `**` any run including `/`, `?` one byte other than `/`, `[abc]`,
//! `[a-z]` and `[!a-z]` a byte class, and `\` escapes the next byte. Matching is
//! case-sensitive, on bytes (names need not be UTF-8).

use thiserror::Error;

/// A pattern that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid --exclude pattern {pattern:?}: {problem}; fix the pattern (see `mh scan --help`)")]
pub struct GlobError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Byte(u8),
    AnyByte,
    Star,
    DoubleStar,
    Class { negated: bool, ranges: Vec<(u8, u8)> },
}

/// One compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
    anchored: bool,
}

impl Glob {
    /// Compiles a pattern (syntax in the module docs).
    ///
    /// # Errors
    /// [`GlobError`] for an empty pattern, a lone trailing backslash, an unclosed `[` class
    /// or a reversed range.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let err = |problem| GlobError { pattern: pattern.to_string(), problem };
        if pattern.is_empty() {
            return Err(err("the pattern is empty"));
        }
        let trimmed = pattern.trim_start_matches("./").trim_start_matches('/');
        let bytes = trimmed.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'*' => {
                    if bytes.get(i + 1) == Some(&b'*') {
                        tokens.push(Token::DoubleStar);
                        i += 2;
                    } else {
                        tokens.push(Token::Star);
                        i += 1;
                    }
                }
                b'?' => {
                    tokens.push(Token::AnyByte);
                    i += 1;
                }
                b'\\' => {
                    let &b =
                        bytes.get(i + 1).ok_or_else(|| err("it ends with a lone backslash"))?;
                    tokens.push(Token::Byte(b));
                    i += 2;
                }
                b'[' => {
                    let mut j = i + 1;
                    let negated = matches!(bytes.get(j), Some(b'!') | Some(b'^'));
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let &b = bytes.get(j).ok_or_else(|| err("a '[' class is not closed"))?;
                        if b == b']' && !first {
                            break;
                        }
                        first = false;
                        if bytes.get(j + 1) == Some(&b'-')
                            && bytes.get(j + 2).is_some_and(|&c| c != b']')
                        {
                            let hi = bytes[j + 2];
                            if hi < b {
                                return Err(err("a class range is reversed"));
                            }
                            ranges.push((b, hi));
                            j += 3;
                        } else {
                            ranges.push((b, b));
                            j += 1;
                        }
                    }
                    tokens.push(Token::Class { negated, ranges });
                    i = j + 1;
                }
                b => {
                    tokens.push(Token::Byte(b));
                    i += 1;
                }
            }
        }
        Ok(Glob { text: pattern.to_string(), tokens, anchored: trimmed.contains('/') })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the entry with this root-relative path (`/`-separated) and name matches.
    pub fn matches(&self, relative_path: &[u8], name: &[u8]) -> bool {
        let subject = if self.anchored { relative_path } else { name };
        match_tokens(&self.tokens, subject)
    }
}

fn class_matches(negated: bool, ranges: &[(u8, u8)], b: u8) -> bool {
    let inside = ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi);
    inside != negated && b != b'/'
}

/// Dynamic programming over (token, byte) positions: O(tokens x bytes), no backtracking
/// blow-up, and correct when `*` (stops at `/`) and `**` (does not) are mixed.
fn match_tokens(tokens: &[Token], s: &[u8]) -> bool {
    // next[i]: tokens[t + 1..] match s[i..]; cur[i]: tokens[t..] match s[i..].
    let mut next = vec![false; s.len() + 1];
    next[s.len()] = true;
    let mut cur = vec![false; s.len() + 1];
    for token in tokens.iter().rev() {
        for i in (0..=s.len()).rev() {
            let here = s.get(i).copied();
            cur[i] = match token {
                Token::Star => next[i] || (here.is_some_and(|b| b != b'/') && cur[i + 1]),
                Token::DoubleStar => next[i] || (here.is_some() && cur[i + 1]),
                Token::Byte(b) => here == Some(*b) && next[i + 1],
                Token::AnyByte => here.is_some_and(|b| b != b'/') && next[i + 1],
                Token::Class { negated, ranges } => {
                    here.is_some_and(|b| class_matches(*negated, ranges, b)) && next[i + 1]
                }
            };
        }
        std::mem::swap(&mut cur, &mut next);
    }
    next[0]
}

/// All `--exclude` patterns.
#[derive(Debug, Clone, Default)]
pub struct ExcludeSet {
    globs: Vec<Glob>,
}

impl ExcludeSet {
    /// Compiles every pattern.
    ///
    /// # Errors
    /// The first pattern's [`GlobError`].
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<ExcludeSet, GlobError> {
        let globs = patterns.iter().map(|p| Glob::new(p.as_ref())).collect::<Result<_, _>>()?;
        Ok(ExcludeSet { globs })
    }

    /// The first pattern that matches, if any.
    pub fn matching(&self, relative_path: &[u8], name: &[u8]) -> Option<&Glob> {
        self.globs.iter().find(|g| g.matches(relative_path, name))
    }

    /// True when there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap();
        Glob::new(p).unwrap().matches(rel.as_bytes(), name.as_bytes())
    }

    #[test]
    fn name_patterns_apply_at_any_depth() {
        assert!(m("*.tmp", "a.tmp"));
        assert!(m("*.tmp", "x/y/a.tmp"));
        assert!(!m("*.tmp", "x/a.tmp.jpg"));
        assert!(m("Thumbs.db", "a/b/Thumbs.db"));
        assert!(m("?.txt", "d/a.txt"));
        assert!(!m("?.txt", "d/ab.txt"));
        assert!(m("[ab]*.jpg", "z/b1.jpg"));
        assert!(!m("[!ab]*.jpg", "z/b1.jpg"));
        assert!(m("[a-c]", "c"));
        assert!(m(r"\*", "*"));
        assert!(!m(r"\*", "a"));
    }

    #[test]
    fn path_patterns_are_anchored_at_the_root() {
        assert!(m("Windows/**", "Windows/System32/x.dll"));
        assert!(!m("Windows/**", "Users/Windows/x"));
        assert!(m("Users/*/AppData", "Users/bob/AppData"));
        assert!(!m("Users/*/AppData", "Users/bob/x/AppData"));
        assert!(m("Users/**/AppData", "Users/bob/x/AppData"));
        assert!(m("/Windows/*", "Windows/x"));
        assert!(!m("Windows/*", "Windows/x/y"));
    }

    #[test]
    fn star_and_double_star_mixed() {
        assert!(m("Users/**/AppData/*", "Users/a/AppData/b/AppData/c"));
        assert!(!m("Users/**/AppData/*", "Users/a/AppData/b/c"));
        assert!(m("**/*.jpg", "a/b/c.jpg"));
    }

    #[test]
    fn bytes_not_utf8() {
        let g = Glob::new("*.jpg").unwrap();
        assert!(g.matches(b"\xff\xfe.jpg", b"\xff\xfe.jpg"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let g = Glob::new("*a*a*a*a*a*a*a*a*b").unwrap();
        let s = vec![b'a'; 2000];
        assert!(!g.matches(&s, &s));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for p in ["", "[abc", r"abc\", "[z-a]"] {
            let e = Glob::new(p).unwrap_err();
            assert!(e.to_string().contains("invalid --exclude pattern"), "{e}");
        }
    }
}
