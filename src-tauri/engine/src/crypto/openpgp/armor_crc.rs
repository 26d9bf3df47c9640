//! The armor's CRC-24 footer (RFC 9580 6.1) for copies that share their
//! large part. RFC 9580 says not to write the footer, but GnuPG needs it:
//! without it, and without base64 padding at the end, gpg reads the END
//! line as more data and fails. The checksum covers the whole copy, yet
//! a CRC is affine in its input, so the shared part's share is worked out
//! once per post and each copy adds only its own bytes:
//!
//! crc(own ‖ shared) = Lⁿ(crc(own)) ⊕ crc₀(shared)
//!
//! where crc₀ starts from zero instead of the initial value, n is the
//! shared length, and L is the register's step over one zero byte (linear,
//! so Lⁿ is a 24×24 bit matrix, made by squaring).

const INIT: u32 = 0x00B7_04CE;
const POLY: u32 = 0x0186_4CFB;
const MASK: u32 = 0x00FF_FFFF;

/// The register after each byte value from zero, for a byte at a time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u32) << 16;
        let mut bit = 0;
        while bit < 8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= POLY;
            }
            bit += 1;
        }
        table[i] = crc & MASK;
        i += 1;
    }
    table
};

fn update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = ((crc << 8) ^ TABLE[(((crc >> 16) ^ u32::from(b)) & 0xff) as usize]) & MASK;
    }
    crc
}

/// The CRC-24 of `data`, as the armor footer carries it.
pub fn crc24(data: &[u8]) -> u32 {
    update(INIT, data)
}

/// A 24×24 bit matrix over GF(2), as the images of the 24 unit vectors.
type Matrix = [u32; 24];

fn apply(m: &Matrix, v: u32) -> u32 {
    (0..24)
        .filter(|i| v & (1 << i) != 0)
        .fold(0, |acc, i| acc ^ m[i])
}

fn compose(a: &Matrix, b: &Matrix) -> Matrix {
    std::array::from_fn(|i| apply(a, b[i]))
}

/// The shared part's contribution to every copy's checksum.
#[derive(Clone)]
pub struct SharedCrc {
    /// The register's step over the shared length of zero bytes.
    shift: Matrix,
    /// The shared part run through a register that starts at zero.
    from_zero: u32,
}

impl SharedCrc {
    pub fn new(shared: &[u8]) -> SharedCrc {
        let mut step: Matrix = std::array::from_fn(|i| update(1 << i, &[0]));
        let mut shift: Matrix = std::array::from_fn(|i| 1 << i);
        let mut n = shared.len();
        while n > 0 {
            if n & 1 == 1 {
                shift = compose(&step, &shift);
            }
            step = compose(&step, &step);
            n >>= 1;
        }
        SharedCrc {
            shift,
            from_zero: update(0, shared),
        }
    }

    /// The CRC-24 of `own` followed by the shared part.
    pub fn after(&self, own: &[u8]) -> u32 {
        apply(&self.shift, crc24(own)) ^ self.from_zero
    }
}

/// The footer line: "=" and the checksum in base64, with CRLF.
pub fn footer(crc: u32) -> String {
    use base64::Engine;
    let bytes = [(crc >> 16) as u8, (crc >> 8) as u8, crc as u8];
    format!(
        "={}\r\n",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_of_a_copy_is_the_checksum_of_all_its_bytes() {
        // RFC 9580's check value: "123456789" gives 0x21CF02.
        assert_eq!(crc24(b"123456789"), 0x21_CF02);
        let shared: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 253) as u8).collect();
        let crc = SharedCrc::new(&shared);
        for own in [&b""[..], b"x", b"key packet", &[0u8; 300]] {
            assert_eq!(crc.after(own), crc24(&[own, &shared].concat()));
        }
        assert_eq!(SharedCrc::new(b"").after(b"abc"), crc24(b"abc"));
    }

    #[test]
    fn the_footer_is_four_base64_characters() {
        assert_eq!(footer(0x21_CF02), "=Ic8C\r\n");
    }
}
