//! Length-prefixed message framing, followed byte by byte so that the size a client
//! declares for a message is checked from its length word, before a byte of the message is
//! buffered. Both fronts use it: the Postgres wire (pgwire 0.41 buffers `Query`, `Parse`,
//! `Bind` and `CopyData` messages of up to 1 GB whole, before the login too) and gRPC
//! (tonic checks its own limit, but answers `OUT_OF_RANGE`, where gRPC's own implementations
//! answer `RESOURCE_EXHAUSTED`).

use std::collections::VecDeque;
use std::fmt;
use std::io;

/// How messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// PostgreSQL protocol 3 from the client ("Message Formats" in the PostgreSQL
    /// documentation): one untyped startup (or cancel) message, a 4-byte big-endian length
    /// that counts itself; then each message a type byte and such a length.
    Postgres,
    /// gRPC over HTTP/2 ("Length-Prefixed-Message" in gRPC's PROTOCOL-HTTP2.md): a
    /// compressed-flag byte and a 4-byte big-endian length of the message that follows.
    Grpc,
}

/// A message whose declared length is past the limit; its body was never read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTooLarge {
    /// The length the client declared, in bytes (the length word's own 4 included).
    pub declared: usize,
    /// The limit in force, in bytes.
    pub limit: usize,
}

impl fmt::Display for MessageTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message of {} bytes exceeds the limit of {} bytes",
            self.declared, self.limit
        )
    }
}

impl std::error::Error for MessageTooLarge {}

impl From<MessageTooLarge> for io::Error {
    fn from(too_large: MessageTooLarge) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, too_large)
    }
}

impl MessageTooLarge {
    /// The refusal carried in a read error, if that is what the error is.
    pub fn of(error: &io::Error) -> Option<MessageTooLarge> {
        error.get_ref()?.downcast_ref::<MessageTooLarge>().copied()
    }
}

/// Where the reader is in the stream of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// In the length word of the untyped startup (or cancel) message.
    StartupLength { have: usize },
    /// In a typed message's type byte and length word.
    Header { have: usize },
    /// In a message body, this many bytes from its end.
    Body { left: usize },
}

/// Follows the message framing of a client's bytes read so far.
#[derive(Debug)]
pub struct MessageBounds {
    framing: Framing,
    position: Position,
    /// The length word being read, big-endian.
    length: [u8; 4],
    limit: usize,
    /// Bytes followed.
    offset: u64,
    /// Where each message followed but not yet decoded ends (Postgres only).
    ends: VecDeque<u64>,
}

impl MessageBounds {
    /// A stream from its first byte, each message limited to `limit` bytes.
    pub fn new(framing: Framing, limit: usize) -> MessageBounds {
        MessageBounds {
            framing,
            position: match framing {
                Framing::Postgres => Position::StartupLength { have: 0 },
                Framing::Grpc => Position::Header { have: 0 },
            },
            length: [0; 4],
            limit,
            offset: 0,
            ends: VecDeque::new(),
        }
    }

    /// Takes `limit` for every message whose length word has not been read yet.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Follows `bytes`, the next bytes of the stream.
    ///
    /// # Errors
    /// [`MessageTooLarge`] as soon as a length word past the limit is complete.
    pub fn follow(&mut self, mut bytes: &[u8]) -> Result<(), MessageTooLarge> {
        while let Some((&byte, rest)) = bytes.split_first() {
            if let Position::Body { left } = self.position {
                let skipped = left.min(bytes.len());
                bytes = &bytes[skipped..];
                self.offset += skipped as u64;
                self.position = match left - skipped {
                    0 => self.ended(),
                    left => Position::Body { left },
                };
                continue;
            }
            self.offset += 1;
            self.position = match self.position {
                Position::StartupLength { have: 3 } | Position::Header { have: 4 } => {
                    self.length[3] = byte;
                    self.body()?
                }
                Position::StartupLength { have } => {
                    self.length[have] = byte;
                    Position::StartupLength { have: have + 1 }
                }
                // The type byte is pgwire's to judge.
                Position::Header { have: 0 } => Position::Header { have: 1 },
                Position::Header { have } => {
                    self.length[have - 1] = byte;
                    Position::Header { have: have + 1 }
                }
                // Skipped above.
                Position::Body { .. } => self.position,
            };
            bytes = rest;
        }
        Ok(())
    }

    /// Whether a decoder that has taken `consumed` bytes of the stream in all stopped
    /// exactly at the end of the next message, as it must. pgwire reads some messages by
    /// their contents rather than their length word (a `Sync` reads no body, a `Query` reads
    /// to its first zero byte), so a client could declare one length to this bound and have
    /// pgwire read another; each decoded message is checked here. (PostgreSQL frames
    /// every message by its length word.) Only for [`Framing::Postgres`].
    pub fn decoded_to(&mut self, consumed: u64) -> bool {
        self.ends.pop_front() == Some(consumed)
    }

    /// Bytes followed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The position after a message's last byte, recorded for [`Self::decoded_to`].
    fn ended(&mut self) -> Position {
        if self.framing == Framing::Postgres {
            self.ends.push_back(self.offset);
        }
        Position::Header { have: 0 }
    }

    /// The body after a complete length word, or the refusal.
    fn body(&mut self) -> Result<Position, MessageTooLarge> {
        let declared = u32::from_be_bytes(self.length) as usize;
        if declared > self.limit {
            return Err(MessageTooLarge {
                declared,
                limit: self.limit,
            });
        }
        let body = match self.framing {
            // A length under 4 is malformed; pgwire's decoder refuses it.
            Framing::Postgres => declared.saturating_sub(4),
            Framing::Grpc => declared,
        };
        Ok(match body {
            0 => self.ended(),
            left => Position::Body { left },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body_len: usize) -> Vec<u8> {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&((body_len + 4) as u32).to_be_bytes());
        bytes.extend(std::iter::repeat_n(b'x', body_len));
        bytes
    }

    fn startup(body_len: usize) -> Vec<u8> {
        let mut bytes = ((body_len + 4) as u32).to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(0, body_len));
        bytes
    }

    #[test]
    fn messages_within_the_limit_pass_in_any_split() {
        let mut stream = startup(40);
        stream.extend(message(b'Q', 100));
        stream.extend(message(b'S', 0));
        stream.extend(message(b'P', 3));
        for chunk in [1, 2, 3, 5, 7, 64, stream.len()] {
            let mut bounds = MessageBounds::new(Framing::Postgres, 1000);
            for piece in stream.chunks(chunk) {
                bounds.follow(piece).unwrap();
            }
            assert_eq!(
                bounds.position,
                Position::Header { have: 0 },
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_length_past_the_limit_is_refused_before_its_body() {
        let mut bounds = MessageBounds::new(Framing::Postgres, 1000);
        bounds.follow(&startup(8)).unwrap();
        bounds.follow(&message(b'Q', 10)).unwrap();
        // Only the header: the refusal needs no body byte.
        let header = &message(b'Q', 2000)[..5];
        bounds.follow(&header[..4]).unwrap();
        assert_eq!(
            bounds.follow(&header[4..]),
            Err(MessageTooLarge {
                declared: 2004,
                limit: 1000
            })
        );
    }

    #[test]
    fn the_startup_message_and_a_raised_limit_count() {
        let mut bounds = MessageBounds::new(Framing::Postgres, 65_535);
        assert!(bounds.follow(&startup(65_535)).is_err());

        let mut bounds = MessageBounds::new(Framing::Postgres, 65_535);
        bounds.follow(&startup(20)).unwrap();
        assert!(bounds.follow(&message(b'Q', 100_000)[..5]).is_err());

        let mut bounds = MessageBounds::new(Framing::Postgres, 65_535);
        bounds.follow(&startup(20)).unwrap();
        bounds.set_limit(1 << 20);
        bounds.follow(&message(b'Q', 100_000)).unwrap();
        assert_eq!(bounds.position, Position::Header { have: 0 });
    }

    #[test]
    fn each_decoded_message_must_end_where_its_length_word_says() {
        let mut bounds = MessageBounds::new(Framing::Postgres, 1000);
        let mut stream = startup(8);
        stream.extend(message(b'S', 0));
        stream.extend(message(b'Q', 3));
        bounds.follow(&stream).unwrap();
        assert!(bounds.decoded_to(12));
        // A decoder that read past the Sync's end (or stopped short of it) is out of step.
        assert!(!bounds.decoded_to(18));
        let mut bounds = MessageBounds::new(Framing::Postgres, 1000);
        bounds.follow(&stream).unwrap();
        assert!(bounds.decoded_to(12));
        assert!(bounds.decoded_to(17));
        assert!(bounds.decoded_to(25));
        assert!(!bounds.decoded_to(25));
    }

    #[test]
    fn grpc_lengths_do_not_count_the_header() {
        let mut bounds = MessageBounds::new(Framing::Grpc, 10);
        bounds.follow(&[0, 0, 0, 0, 10]).unwrap();
        bounds.follow(&[7; 10]).unwrap();
        assert_eq!(bounds.position, Position::Header { have: 0 });
        assert_eq!(
            bounds.follow(&[0, 0, 0, 0, 11]),
            Err(MessageTooLarge {
                declared: 11,
                limit: 10
            })
        );
    }

    #[test]
    fn the_largest_length_word_does_not_overflow() {
        let mut bounds = MessageBounds::new(Framing::Postgres, usize::MAX);
        bounds.follow(&startup(0)).unwrap();
        bounds.follow(&[b'Q', 0xff, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!(bounds.position, Position::Body { left: 0xffff_fffb });
    }
}
