//! The master file tokenizer: bytes → entries (one record or directive each) of tokens.
//!
//! RFC 1035 §5.1 as BIND, NSD and Knot read it: white space separates tokens, `;` starts a
//! comment (outside quotes), parentheses let an entry span lines, `"..."` quotes a token
//! (with `\"` and `\\` inside), `\X` and `\DDD` escape a byte anywhere. Escapes are kept as
//! written: whether `\.` is a dot inside a label or a label separator is for the name
//! parser to say, so the lexer only finds where tokens start and end.

use super::error::SyntaxError;

/// One token of an entry, escapes still in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The bytes as written, without the surrounding quotes of a quoted token.
    pub text: Vec<u8>,
    /// Written between double quotes.
    pub quoted: bool,
    /// 1-based line of the token's first byte.
    pub line: usize,
    /// 1-based column (byte) of the token's first byte.
    pub column: usize,
}

impl Token {
    /// The token as text, for messages (bytes that are not UTF-8 replaced).
    pub fn show(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// One record or directive: its tokens, and whether its line started with white space
/// (then it has no owner field and the previous owner carries over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub tokens: Vec<Token>,
    pub starts_blank: bool,
    /// The line the entry starts on.
    pub line: usize,
}

/// Splits a whole master file into entries. A syntax error the tokenizer cannot recover
/// from (an unterminated quote or parenthesis) stops it.
pub fn entries(input: &[u8]) -> Result<Vec<Entry>, SyntaxError> {
    Lexer {
        input,
        pos: 0,
        line: 1,
        line_start: 0,
    }
    .run()
}

struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

impl Lexer<'_> {
    fn column(&self, pos: usize) -> usize {
        pos - self.line_start + 1
    }

    fn error(&self, line: usize, column: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    fn run(mut self) -> Result<Vec<Entry>, SyntaxError> {
        let mut out = Vec::new();
        let mut current: Option<Entry> = None;
        // Where the open parenthesis is, while one is.
        let mut open: Option<(usize, usize)> = None;
        while self.pos < self.input.len() {
            let at_line_start = self.pos == self.line_start;
            let b = self.input[self.pos];
            match b {
                b'\n' => {
                    if open.is_none() {
                        out.extend(current.take().filter(|e| !e.tokens.is_empty()));
                    }
                    self.newline();
                }
                b' ' | b'\t' | b'\r' => {
                    if at_line_start && open.is_none() {
                        current = Some(self.entry(true));
                    }
                    self.pos += 1;
                }
                b';' => {
                    while self.pos < self.input.len() && self.input[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'(' => {
                    if let Some((l, c)) = open {
                        return Err(self.error(
                            self.line,
                            self.column(self.pos),
                            format!("parenthesis inside the parentheses opened at {l}:{c}"),
                        ));
                    }
                    open = Some((self.line, self.column(self.pos)));
                    current.get_or_insert_with(|| self.entry(false));
                    self.pos += 1;
                }
                b')' => {
                    if open.take().is_none() {
                        return Err(self.error(
                            self.line,
                            self.column(self.pos),
                            "`)` without `(`",
                        ));
                    }
                    self.pos += 1;
                }
                _ => {
                    let token = if b == b'"' {
                        self.quoted()?
                    } else {
                        self.contiguous()
                    };
                    let starts_blank = !at_line_start;
                    current
                        .get_or_insert_with(|| Entry {
                            tokens: Vec::new(),
                            starts_blank,
                            line: token.line,
                        })
                        .tokens
                        .push(token);
                }
            }
        }
        if let Some((l, c)) = open {
            return Err(self.error(l, c, "`(` is never closed"));
        }
        out.extend(current.filter(|e| !e.tokens.is_empty()));
        Ok(out)
    }

    fn entry(&self, starts_blank: bool) -> Entry {
        Entry {
            tokens: Vec::new(),
            starts_blank,
            line: self.line,
        }
    }

    /// A token without quotes: up to white space, `;`, `(`, `)`, `"` or the end of the
    /// line; `\` takes the next byte whatever it is.
    fn contiguous(&mut self) -> Token {
        let (line, column) = (self.line, self.column(self.pos));
        let start = self.pos;
        while self.pos < self.input.len() {
            match self.input[self.pos] {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                b'\\' if self.pos + 1 < self.input.len() && self.input[self.pos + 1] != b'\n' => {
                    self.pos += 2
                }
                _ => self.pos += 1,
            }
        }
        Token {
            text: self.input[start..self.pos].to_vec(),
            quoted: false,
            line,
            column,
        }
    }

    /// A token between double quotes. Like BIND, a line break inside quotes is an error
    /// (a string continues on the next line as a second quoted string, in parentheses).
    fn quoted(&mut self) -> Result<Token, SyntaxError> {
        let (line, column) = (self.line, self.column(self.pos));
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.input.get(self.pos) {
                None | Some(b'\n') => {
                    return Err(self.error(line, column, "quoted string is not closed on its line"))
                }
                Some(b'"') => break,
                Some(b'\\') if self.input.get(self.pos + 1).is_some_and(|&b| b != b'\n') => {
                    self.pos += 2
                }
                Some(_) => self.pos += 1,
            }
        }
        let text = self.input[start..self.pos].to_vec();
        self.pos += 1;
        Ok(Token {
            text,
            quoted: true,
            line,
            column,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(e: &Entry) -> Vec<String> {
        e.tokens.iter().map(Token::show).collect()
    }

    #[test]
    fn splits_lines_and_drops_comments_and_blank_lines() {
        let es = entries(b"; header\n\na 300 IN A 192.0.2.1 ; web\n\n  AAAA ::1\n").unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(texts(&es[0]), ["a", "300", "IN", "A", "192.0.2.1"]);
        assert!(!es[0].starts_blank);
        assert_eq!(es[0].line, 3);
        assert_eq!(texts(&es[1]), ["AAAA", "::1"]);
        assert!(es[1].starts_blank);
        assert_eq!((es[1].tokens[0].line, es[1].tokens[0].column), (5, 3));
    }

    #[test]
    fn parentheses_join_lines_and_allow_comments_inside() {
        let src =
            b"@ SOA ns1 host (\n  1 ; serial\n  2 ; refresh ( not a paren\n 3 4 5 )\nb A 1.2.3.4\n";
        let es = entries(src).unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(
            texts(&es[0]),
            ["@", "SOA", "ns1", "host", "1", "2", "3", "4", "5"]
        );
        assert_eq!(es[0].tokens[8].line, 4);
        assert_eq!(es[1].line, 5);
    }

    #[test]
    fn quotes_keep_spaces_semicolons_and_escapes() {
        let es = entries(br#"t TXT "a b; c" "say \"hi\"" "\\" \; x\ y"#).unwrap();
        let t = &es[0].tokens;
        assert_eq!(t[2].text, b"a b; c");
        assert!(t[2].quoted);
        assert_eq!(t[3].text, br#"say \"hi\""#);
        assert_eq!(t[4].text, br"\\");
        assert_eq!(t[5].text, br"\;");
        assert!(!t[5].quoted);
        assert_eq!(t[6].text, br"x\ y");
    }

    #[test]
    fn crlf_line_ends_are_white_space() {
        let es = entries(b"a A 1.2.3.4\r\n b A 1.2.3.5\r\n").unwrap();
        assert_eq!(texts(&es[0]), ["a", "A", "1.2.3.4"]);
        assert!(es[1].starts_blank);
    }

    #[test]
    fn a_line_starting_with_a_paren_continuation_is_not_blank_owner() {
        // The continuation lines of a multi-line entry do not start new entries.
        let es = entries(b"a TXT (\n \"x\"\n \"y\" )\n").unwrap();
        assert_eq!(es.len(), 1);
        assert_eq!(texts(&es[0]), ["a", "TXT", "x", "y"]);
    }

    #[test]
    fn reports_unbalanced_parentheses_and_quotes_with_positions() {
        let e = entries(b"a A 1.2.3.4\nb SOA ( 1 2\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
        assert!(e.message.contains("never closed"), "{e:?}");
        let e = entries(b"a A 1 )\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7));
        let e = entries(b"a TXT \"open\nb A 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7));
        let e = entries(b"a ( ( 1 ) )\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5));
    }
}
