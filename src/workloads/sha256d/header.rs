//! Bitcoin block headers, targets and the CPU reference for double SHA-256.

use std::fmt;

use sha2::{Digest, Sha256};

/// An 80-byte bitcoin block header, as serialised on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader(pub [u8; 80]);

impl BlockHeader {
    /// Parses 160 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() != 160 {
            return Err(format!(
                "a block header is 160 hex characters (80 bytes), got {} characters",
                text.chars().count()
            ));
        }
        let bytes = hex_bytes(text, "header")?;
        let mut header = [0; 80];
        header.copy_from_slice(&bytes);
        Ok(BlockHeader(header))
    }

    /// The compact target (`nBits`) the header commits to.
    pub fn bits(&self) -> u32 {
        u32::from_le_bytes(self.0[72..76].try_into().unwrap())
    }

    /// The nonce stored in the header.
    pub fn nonce(&self) -> u32 {
        u32::from_le_bytes(self.0[76..80].try_into().unwrap())
    }

    /// The header's bytes with `nonce` in its nonce field.
    pub fn with_nonce(&self, nonce: u32) -> [u8; 80] {
        let mut bytes = self.0;
        bytes[76..80].copy_from_slice(&nonce.to_le_bytes());
        bytes
    }

    /// The CPU reference: SHA-256(SHA-256(header with `nonce`)), by `sha2`.
    pub fn hash_with_nonce(&self, nonce: u32) -> BlockHash {
        let first = Sha256::digest(self.with_nonce(nonce));
        BlockHash(Sha256::digest(first).into())
    }
}

impl fmt::Debug for BlockHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockHeader({})", hex::encode(self.0))
    }
}

/// Decodes hex text, naming the first character that is not a hex digit
/// by its position in characters (not bytes) and as itself.
fn hex_bytes(text: &str, what: &str) -> Result<Vec<u8>, String> {
    if let Some((position, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
    {
        return Err(format!(
            "{what} is not hex: character {} is {c:?}",
            position + 1
        ));
    }
    hex::decode(text).map_err(|e| format!("{what} is not hex: {e}"))
}

/// A double SHA-256 digest, in the byte order SHA-256 produces it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BlockHash(pub [u8; 32]);

impl fmt::Display for BlockHash {
    /// Block explorers show the digest reversed: the hash read as a
    /// little-endian number, most significant byte first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut reversed = self.0;
        reversed.reverse();
        f.write_str(&hex::encode(reversed))
    }
}

/// A 256-bit target, most significant byte first (as explorers print it).
/// A hash meets it when the hash, read as a little-endian number, is at most
/// the target.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Target(pub [u8; 32]);

impl Target {
    /// Expands compact `nBits`: a 3-byte mantissa times 256^(exponent - 3).
    pub fn from_bits(bits: u32) -> Result<Self, String> {
        let exponent = (bits >> 24) as i32;
        let mantissa = bits & 0x00ff_ffff;
        if mantissa & 0x0080_0000 != 0 {
            return Err(format!("bits {bits:08x} encode a negative target"));
        }
        if mantissa == 0 {
            return Err(format!("bits {bits:08x} encode a zero target"));
        }
        let mut target = [0u8; 32];
        for (i, byte) in mantissa.to_be_bytes()[1..].iter().enumerate() {
            let position = 32 - exponent + i as i32;
            if position < 0 {
                if *byte != 0 {
                    return Err(format!("bits {bits:08x} encode a target above 2^256"));
                }
            } else if position < 32 {
                target[position as usize] = *byte;
            }
        }
        if target == [0; 32] {
            return Err(format!("bits {bits:08x} encode a zero target"));
        }
        Ok(Target(target))
    }

    /// Parses 8 hex characters of compact bits.
    pub fn from_bits_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "bits are 8 hex characters (for example 1d00ffff), got '{text}'"
            ));
        }
        Self::from_bits(u32::from_str_radix(text, 16).expect("checked hex"))
    }

    /// Parses 64 hex characters, most significant first.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() != 64 {
            return Err(format!(
                "a target is 64 hex characters, got {} characters",
                text.chars().count()
            ));
        }
        let bytes = hex_bytes(text, "target")?;
        let target = Target(bytes.try_into().expect("64 hex characters are 32 bytes"));
        if target.0 == [0; 32] {
            return Err("a zero target can never be met".into());
        }
        Ok(target)
    }

    /// Whether `hash` meets this target.
    pub fn is_met_by(&self, hash: &BlockHash) -> bool {
        let mut number = hash.0;
        number.reverse();
        number <= self.0
    }

    /// The target as eight 32-bit words, most significant first.
    pub fn words(&self) -> [u32; 8] {
        std::array::from_fn(|i| u32::from_be_bytes(self.0[4 * i..4 * i + 4].try_into().unwrap()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A block from the real chain: a public test vector the kernel must solve.
#[derive(Debug, Clone, Copy)]
pub struct KnownBlock {
    pub height: u32,
    pub header_hex: &'static str,
    pub nonce: u32,
    pub hash: &'static str,
}

impl KnownBlock {
    pub fn header(&self) -> BlockHeader {
        BlockHeader::from_hex(self.header_hex).expect("built-in headers are valid")
    }
}

/// The genesis block.
pub const GENESIS: KnownBlock = KnownBlock {
    height: 0,
    header_hex: "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
    nonce: 2_083_236_893,
    hash: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
};

/// Block 100000.
pub const BLOCK_100000: KnownBlock = KnownBlock {
    height: 100_000,
    header_hex: "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
    nonce: 274_148_111,
    hash: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
};

/// Block 125552, the example of the bitcoin wiki's "Block hashing algorithm".
pub const BLOCK_125552: KnownBlock = KnownBlock {
    height: 125_552,
    header_hex: "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695",
    nonce: 2_504_433_986,
    hash: "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d",
};

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST FIPS 180-2 examples, through the same `sha2` the reference uses.
    #[test]
    fn nist_sha256_vectors() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(hex::encode(Sha256::digest(input)), expected);
        }
        let million_a = vec![b'a'; 1_000_000];
        assert_eq!(
            hex::encode(Sha256::digest(&million_a)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn known_blocks_hash_to_their_published_hashes() {
        for block in [GENESIS, BLOCK_100000, BLOCK_125552] {
            let header = block.header();
            assert_eq!(header.nonce(), block.nonce);
            let hash = header.hash_with_nonce(block.nonce);
            assert_eq!(hash.to_string(), block.hash, "block {}", block.height);
            let target = Target::from_bits(header.bits()).unwrap();
            assert!(target.is_met_by(&hash));
            assert!(!target.is_met_by(&header.hash_with_nonce(block.nonce ^ 1)));
        }
    }

    #[test]
    fn bits_expand_to_targets() {
        assert_eq!(
            Target::from_bits(0x1d00ffff).unwrap().to_string(),
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(
            Target::from_bits(0x1a44b9f2).unwrap().to_string(),
            "00000000000044b9f20000000000000000000000000000000000000000000000"
        );
        // Exponent below 3 shifts the mantissa right.
        assert_eq!(Target::from_bits(0x02123456).unwrap().0[31], 0x34);
        assert_eq!(Target::from_bits(0x2100ffff).unwrap().0[0], 0xff);
        assert!(
            Target::from_bits(0x1d80ffff)
                .unwrap_err()
                .contains("negative")
        );
        assert!(Target::from_bits(0x1d000000).unwrap_err().contains("zero"));
        assert!(Target::from_bits(0x227fffff).unwrap_err().contains("2^256"));
        assert!(Target::from_bits(0x01003456).unwrap_err().contains("zero"));
    }

    #[test]
    fn bad_text_is_rejected_with_a_reason() {
        assert!(BlockHeader::from_hex("00").unwrap_err().contains("160 hex"));
        let not_hex = "zz".repeat(80);
        assert!(
            BlockHeader::from_hex(&not_hex)
                .unwrap_err()
                .contains("not hex")
        );
        assert!(
            Target::from_bits_hex("1d00ff")
                .unwrap_err()
                .contains("8 hex")
        );
        assert!(Target::from_bits_hex("1d00fffg").is_err());
        assert!(Target::from_hex("ff").unwrap_err().contains("64 hex"));
        assert!(
            Target::from_hex(&"0".repeat(64))
                .unwrap_err()
                .contains("zero")
        );
        assert!(Target::from_hex(&"x".repeat(64)).is_err());
        // Characters, not bytes: 'é' is two bytes of UTF-8.
        let accented = format!("{}é{}", "0".repeat(100), "0".repeat(59));
        let error = BlockHeader::from_hex(&accented).unwrap_err();
        assert_eq!(error, "header is not hex: character 101 is 'é'");
    }

    #[test]
    fn target_words_are_most_significant_first() {
        let target = Target::from_bits(0x1d00ffff).unwrap();
        assert_eq!(target.words()[0], 0);
        assert_eq!(target.words()[1], 0xffff_0000);
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn any_text_is_a_header_or_an_error(text in ".{0,200}") {
                if let Err(error) = BlockHeader::from_hex(&text) {
                    prop_assert!(error.contains("header") || error.contains("block header"));
                }
            }

            /// Valid hex with one character swapped for any other: the
            /// error names that character, by position.
            #[test]
            fn one_bad_character_is_named(junk in any::<char>(), at in 0usize..160) {
                let mut chars: Vec<char> = "ab".repeat(80).chars().collect();
                chars[at] = junk;
                let text: String = chars.into_iter().collect();
                let trimmed = text.trim();
                match BlockHeader::from_hex(&text) {
                    Ok(header) => prop_assert_eq!(hex::encode(header.0), trimmed.to_lowercase()),
                    Err(error) if trimmed.chars().count() == 160 => {
                        let named = format!("character {} is {junk:?}", at + 1);
                        prop_assert!(error.contains(&named), "{}", error);
                    }
                    Err(error) => prop_assert!(error.contains("160 hex characters"), "{}", error),
                }
            }

            #[test]
            fn any_bits_expand_or_are_refused(bits in any::<u32>(), text in ".{0,12}") {
                if let Ok(target) = Target::from_bits(bits) {
                    prop_assert!(target.0 != [0; 32]);
                }
                if let Err(error) = Target::from_bits_hex(&text) {
                    prop_assert!(error.contains("bits"), "{}", error);
                }
            }

            #[test]
            fn any_text_is_a_target_or_an_error(text in "[0-9a-fA-F x]{0,70}") {
                if let Ok(target) = Target::from_hex(&text) {
                    prop_assert!(target.0 != [0; 32]);
                }
            }
        }
    }
}
