//! `POST /gzip`: the request body as one gzip member (RFC 1952), compressed
//! with raw-deflate state (`flate2::Compress`) taken from a pool.
//!
//! Deflate state is the textbook object worth pooling: miniz_oxide's
//! compressor is a few hundred KiB of dictionary, hash chains and Huffman
//! tables, allocated and zeroed by `Compress::new`, while compressing a
//! few-KiB body touches a fraction of it. Go servers pool `gzip.Writer`s for
//! the same reason. A pooled `Compress` is `reset` on return (see
//! `server.rs`), which rewinds it to a fresh stream without allocating.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The gzip member header: magic, deflate, no flags, no modification time,
/// no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Output room to reserve for `n` input bytes: deflate's worst case is a
/// few bytes per 16 KiB stored block over the input; this covers it and the
/// gzip header and trailer, so the usual body needs a single pass.
pub fn max_len(n: usize) -> usize {
    n + n / 8 + 64
}

/// A fresh encoder: default level (6), raw deflate (gzip frames it here).
pub fn new_encoder() -> Compress {
    Compress::new(Compression::default(), false)
}

/// Appends `input` as a gzip member to `out`, compressing with `encoder`,
/// which must be at the start of a stream (new, or `reset`).
pub fn compress(encoder: &mut Compress, input: &[u8], out: &mut Vec<u8>) {
    out.reserve(max_len(input.len()));
    out.extend_from_slice(&HEADER);
    let start = encoder.total_in();
    loop {
        let consumed = (encoder.total_in() - start) as usize;
        if out.len() == out.capacity() {
            out.reserve(4096);
        }
        // `compress_vec` writes into the spare capacity only. Errors are
        // impossible here: raw deflate, a fresh stream, a valid flush mode.
        match encoder.compress_vec(&input[consumed..], out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => break,
            Ok(Status::Ok | Status::BufError) => {}
            Err(e) => unreachable!("deflate failed: {e}"),
        }
    }
    let mut crc = Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    out.extend_from_slice(&(input.len() as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    /// Round trips, through one encoder reset between uses, for empty, small,
    /// repetitive and incompressible inputs; the encoder compresses after
    /// the resets as well as when new.
    #[test]
    fn compresses_to_valid_gzip_and_reuses_the_encoder() {
        let mut encoder = new_encoder();
        let mut noise = 0x2545_f491_4f6c_dd1du64;
        let random: Vec<u8> = (0..70_000)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                noise as u8
            })
            .collect();
        let text = "{\"id\":1,\"name\":\"a\"},".repeat(200);
        for input in [&b""[..], b"hello", text.as_bytes(), &random] {
            let mut out = Vec::new();
            compress(&mut encoder, input, &mut out);
            assert_eq!(gunzip(&out), input);
            encoder.reset();
        }
        let mut out = Vec::new();
        compress(&mut encoder, text.as_bytes(), &mut out);
        assert!(out.len() < text.len() / 4, "{} bytes", out.len());
    }
}
