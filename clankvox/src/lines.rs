//! Splitting stdin into lines with the 8 MiB limit (docs/clankvox-protocol.md §2): an
//! over-long line is read to its end and reported once, without buffering it.

use crate::protocol::MAX_LINE_BYTES;

/// One complete input line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes without the newline.
    Complete(Vec<u8>),
    /// A line longer than the limit, with its length.
    TooLarge(usize),
}

/// Incremental line splitter.
#[derive(Debug)]
pub struct LineSplitter {
    limit: usize,
    buf: Vec<u8>,
    /// Bytes of an over-long line seen so far (its content is discarded).
    oversize: Option<usize>,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            buf: Vec::new(),
            oversize: None,
        }
    }

    /// Feed bytes; returns the lines they completed.
    pub fn feed(&mut self, mut data: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n');
            let (part, rest, ended) = match nl {
                Some(i) => (&data[..i], &data[i + 1..], true),
                None => (data, &data[data.len()..], false),
            };
            if let Some(n) = self.oversize.as_mut() {
                *n += part.len();
            } else if self.buf.len() + part.len() > self.limit {
                self.oversize = Some(self.buf.len() + part.len());
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(part);
            }
            if ended {
                match self.oversize.take() {
                    Some(n) => out.push(Line::TooLarge(n)),
                    None => {
                        let mut line = std::mem::take(&mut self.buf);
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        out.push(Line::Complete(line));
                    }
                }
            }
            data = rest;
        }
        out
    }

    /// End of input: an unterminated last line still counts.
    pub fn finish(&mut self) -> Option<Line> {
        if let Some(n) = self.oversize.take() {
            return Some(Line::TooLarge(n));
        }
        if self.buf.is_empty() {
            None
        } else {
            Some(Line::Complete(std::mem::take(&mut self.buf)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_feeds_and_strips_cr() {
        let mut s = LineSplitter::new(100);
        assert_eq!(s.feed(b"ab"), vec![]);
        assert_eq!(
            s.feed(b"c\r\nde\n\nf"),
            vec![
                Line::Complete(b"abc".to_vec()),
                Line::Complete(b"de".to_vec()),
                Line::Complete(vec![])
            ]
        );
        assert_eq!(s.finish(), Some(Line::Complete(b"f".to_vec())));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn over_long_lines_are_reported_and_skipped() {
        let mut s = LineSplitter::new(4);
        assert_eq!(s.feed(b"123"), vec![]);
        assert_eq!(s.feed(b"45"), vec![]);
        assert_eq!(
            s.feed(b"678\nok\n"),
            vec![Line::TooLarge(8), Line::Complete(b"ok".to_vec())]
        );
        assert_eq!(s.feed(b"1234\n"), vec![Line::Complete(b"1234".to_vec())]);
    }
}
