//! Shamir secret sharing over GF(2^8), as SOPS uses it for key groups.
//!
//! Field: GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B).
//! Each secret byte gets its own random polynomial of degree threshold-1
//! whose constant term is the byte. Share i is the polynomials evaluated at
//! x = i + 1, followed by that x as the last byte (so 33 bytes for a 32-byte
//! key). Combining is Lagrange interpolation at x = 0 (spec section 6).

use zeroize::Zeroizing;

fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80;
        a <<= 1;
        if carry != 0 {
            a ^= 0x1B;
        }
        b >>= 1;
    }
    p
}

fn inverse(a: u8) -> u8 {
    // a^254 = a^-1 in GF(2^8); a is never 0 here.
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e != 0 {
        if e & 1 != 0 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

#[derive(Debug, PartialEq, Eq)]
pub enum ShamirError {
    BadThreshold,
    TooFewShares,
    InconsistentShares,
}

impl std::fmt::Display for ShamirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShamirError::BadThreshold => {
                "the Shamir threshold must be at least 2 and at most the number of key groups"
            }
            ShamirError::TooFewShares => {
                "not enough key groups could be opened to rebuild the data key"
            }
            ShamirError::InconsistentShares => "the key-group shares are malformed or duplicated",
        })
    }
}

/// Split `secret` into `parts` shares, any `threshold` of which rebuild it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if threshold < 2 || parts < threshold || parts > 255 {
        return Err(ShamirError::BadThreshold);
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|_| Zeroizing::new(Vec::with_capacity(secret.len() + 1)))
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; threshold - 1]);
    for &byte in secret {
        getrandom::getrandom(&mut coeffs).expect("the operating system's random source failed");
        for (i, share) in shares.iter_mut().enumerate() {
            let x = (i + 1) as u8;
            // Horner's rule, highest coefficient first.
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = mul(y, x) ^ c;
            }
            share.push(mul(y, x) ^ byte);
        }
    }
    for (i, share) in shares.iter_mut().enumerate() {
        share.push((i + 1) as u8);
    }
    Ok(shares)
}

/// Rebuild the secret from shares (each ending in its x coordinate).
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if shares.len() < 2 {
        return Err(ShamirError::TooFewShares);
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err(ShamirError::InconsistentShares);
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if *x == 0 || xs[..i].contains(x) {
            return Err(ShamirError::InconsistentShares);
        }
    }
    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (i, share) in shares.iter().enumerate() {
        // Lagrange basis polynomial i evaluated at 0: prod x_j / (x_j - x_i),
        // where subtraction is XOR in this field.
        let mut basis = 1u8;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                basis = mul(basis, mul(xj, inverse(xj ^ xs[i])));
            }
        }
        for (b, &y) in secret.iter_mut().zip(share.iter()) {
            *b ^= mul(y, basis);
        }
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_arithmetic() {
        // The AES field's textbook example: {57} x {83} = {c1}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1);
        }
    }

    #[test]
    fn any_threshold_subset_rebuilds_the_secret() {
        let secret: Vec<u8> = (0..32).collect();
        let shares = split(&secret, 3, 2).unwrap();
        assert!(shares.iter().all(|s| s.len() == 33));
        assert_eq!(shares[0][32], 1);
        assert_eq!(shares[2][32], 3);
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            assert_eq!(
                combine(&[&shares[a], &shares[b]]).unwrap().as_slice(),
                secret.as_slice()
            );
        }
        let all: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
        assert_eq!(combine(&all).unwrap().as_slice(), secret.as_slice());
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(split(b"k", 1, 1).unwrap_err(), ShamirError::BadThreshold);
        assert_eq!(split(b"k", 2, 3).unwrap_err(), ShamirError::BadThreshold);
        let shares = split(b"key", 2, 2).unwrap();
        assert_eq!(
            combine(&[&shares[0]]).unwrap_err(),
            ShamirError::TooFewShares
        );
        assert_eq!(
            combine(&[&shares[0], &shares[0]]).unwrap_err(),
            ShamirError::InconsistentShares
        );
    }
}
