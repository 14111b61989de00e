// SHA-256d bitcoin nonce search, written the way GPU miners write it.
//
// Why it looks like this (each step was measured on lavapipe; see the
// README's table):
// * Every round is unrolled and every message word is its own `let`: no
//   private array is ever indexed. A dynamically indexed private array
//   spills to memory (about 80x slower on lavapipe).
// * The host hashes the header's first 64 bytes once (the midstate), runs
//   rounds 0-2 of the second chunk, which do not depend on the nonce, and
//   the nonce-free parts of round 3 and of message words 16-19.
// * Words that are the same for every nonce (padding, length, zeros) are
//   literals, so the shader compiler folds them away.
// * The second hash stops after round 60: the digest's last word is known
//   there, and since bitcoin reads the hash as a little-endian number that
//   word, byte-swapped, is its most significant 32 bits. A nonce whose top
//   word exceeds the target's is rejected; the few that pass (about one in
//   2^32 at bitcoin's difficulty) are reported with that word, and the host
//   re-hashes each one, checks the word, and does the full 256-bit compare.
//   Finishing the compare here would cost every nonce on GPUs that run
//   both sides of a branch under a mask, as lavapipe does.
// * Each invocation hashes NONCES_PER_THREAD nonces one after the other,
//   so that the per-invocation set-up is paid once. Hashing two or four
//   nonces side by side as vectors was slower: the extra chains spill.

override WORKGROUP_SIZE: u32 = 64u;
override NONCES_PER_THREAD: u32 = 128u;

struct Job {
    // The target's most significant 32-bit word.
    target_top: u32,
    // First nonce of this dispatch, and how many it scans.
    first_nonce: u32,
    nonce_count: u32,
    // x: T1 + T2 of round 3 without the nonce word; y: d + T1 of round 3
    // without the nonce word.
    round3_a: u32,
    round3_e: u32,
    // Message words 16 and 17, and the nonce-free parts of words 18 and 19.
    w16: u32,
    w17: u32,
    w18_part: u32,
    w19_part: u32,
    // Padding to 16-byte alignment for the vectors below.
    pad0: u32,
    pad1: u32,
    pad2: u32,
    // SHA-256 state after the header's first 64-byte chunk.
    midstate_abcd: vec4<u32>,
    midstate_efgh: vec4<u32>,
    // State after rounds 0-2 of the second chunk (merkle tail, time, bits).
    state3_abcd: vec4<u32>,
    state3_efgh: vec4<u32>,
}

struct Candidate {
    nonce: u32,
    // The last digest word the kernel computed, for the host to check.
    last_word: u32,
}

struct Candidates {
    count: atomic<u32>,
    items: array<Candidate>,
}

@group(0) @binding(0) var<uniform> job: Job;
@group(0) @binding(1) var<storage, read_write> candidates: Candidates;

struct State { a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: u32, h: u32 }

fn rotr(x: u32, n: u32) -> u32 { return (x >> n) | (x << (32u - n)); }
fn big_sigma0(x: u32) -> u32 { return rotr(x, 2u) ^ rotr(x, 13u) ^ rotr(x, 22u); }
fn big_sigma1(x: u32) -> u32 { return rotr(x, 6u) ^ rotr(x, 11u) ^ rotr(x, 25u); }
fn sigma0(x: u32) -> u32 { return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u); }
fn sigma1(x: u32) -> u32 { return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u); }
fn choose(e: u32, f: u32, g: u32) -> u32 { return g ^ (e & (f ^ g)); }
fn majority(a: u32, b: u32, c: u32) -> u32 { return (a & b) | (c & (a | b)); }

// One SHA-256 round; `kw` is the round constant plus the message word.
fn round(s: State, kw: u32) -> State {
    let t1 = s.h + big_sigma1(s.e) + choose(s.e, s.f, s.g) + kw;
    let t2 = big_sigma0(s.a) + majority(s.a, s.b, s.c);
    return State(t1 + t2, s.a, s.b, s.c, s.d + t1, s.e, s.f, s.g);
}

fn byte_swap(x: u32) -> u32 {
    return (x << 24u) | ((x & 0xff00u) << 8u) | ((x >> 8u) & 0xff00u) | (x >> 24u);
}

// The last digest word of the double hash of `nonce`.
fn last_digest_word(nonce: u32) -> u32 {
    // First hash, second chunk: header bytes 64..80, then padding. Word 3
    // is the nonce, stored little-endian and read big-endian by SHA-256.
    let w3 = byte_swap(nonce);
    let w4 = 0x80000000u;
    let w5 = 0u; let w6 = 0u; let w7 = 0u; let w8 = 0u; let w9 = 0u;
    let w10 = 0u; let w11 = 0u; let w12 = 0u; let w13 = 0u; let w14 = 0u;
    let w15 = 640u; // message length in bits
    var s = State(job.round3_a + w3, job.state3_abcd.x, job.state3_abcd.y, job.state3_abcd.z,
                  job.round3_e + w3, job.state3_efgh.x, job.state3_efgh.y, job.state3_efgh.z);
    s = round(s, 0x3956c25bu + w4);
    s = round(s, 0x59f111f1u + w5);
    s = round(s, 0x923f82a4u + w6);
    s = round(s, 0xab1c5ed5u + w7);
    s = round(s, 0xd807aa98u + w8);
    s = round(s, 0x12835b01u + w9);
    s = round(s, 0x243185beu + w10);
    s = round(s, 0x550c7dc3u + w11);
    s = round(s, 0x72be5d74u + w12);
    s = round(s, 0x80deb1feu + w13);
    s = round(s, 0x9bdc06a7u + w14);
    s = round(s, 0xc19bf174u + w15);
    let w16 = job.w16;
    let w17 = job.w17;
    let w18 = job.w18_part + sigma0(w3);
    let w19 = job.w19_part + w3;
    s = round(s, 0xe49b69c1u + w16);
    s = round(s, 0xefbe4786u + w17);
    s = round(s, 0x0fc19dc6u + w18);
    s = round(s, 0x240ca1ccu + w19);
    let w20 = sigma1(w18) + w13 + sigma0(w5) + w4;
    s = round(s, 0x2de92c6fu + w20);
    let w21 = sigma1(w19) + w14 + sigma0(w6) + w5;
    s = round(s, 0x4a7484aau + w21);
    let w22 = sigma1(w20) + w15 + sigma0(w7) + w6;
    s = round(s, 0x5cb0a9dcu + w22);
    let w23 = sigma1(w21) + w16 + sigma0(w8) + w7;
    s = round(s, 0x76f988dau + w23);
    let w24 = sigma1(w22) + w17 + sigma0(w9) + w8;
    s = round(s, 0x983e5152u + w24);
    let w25 = sigma1(w23) + w18 + sigma0(w10) + w9;
    s = round(s, 0xa831c66du + w25);
    let w26 = sigma1(w24) + w19 + sigma0(w11) + w10;
    s = round(s, 0xb00327c8u + w26);
    let w27 = sigma1(w25) + w20 + sigma0(w12) + w11;
    s = round(s, 0xbf597fc7u + w27);
    let w28 = sigma1(w26) + w21 + sigma0(w13) + w12;
    s = round(s, 0xc6e00bf3u + w28);
    let w29 = sigma1(w27) + w22 + sigma0(w14) + w13;
    s = round(s, 0xd5a79147u + w29);
    let w30 = sigma1(w28) + w23 + sigma0(w15) + w14;
    s = round(s, 0x06ca6351u + w30);
    let w31 = sigma1(w29) + w24 + sigma0(w16) + w15;
    s = round(s, 0x14292967u + w31);
    let w32 = sigma1(w30) + w25 + sigma0(w17) + w16;
    s = round(s, 0x27b70a85u + w32);
    let w33 = sigma1(w31) + w26 + sigma0(w18) + w17;
    s = round(s, 0x2e1b2138u + w33);
    let w34 = sigma1(w32) + w27 + sigma0(w19) + w18;
    s = round(s, 0x4d2c6dfcu + w34);
    let w35 = sigma1(w33) + w28 + sigma0(w20) + w19;
    s = round(s, 0x53380d13u + w35);
    let w36 = sigma1(w34) + w29 + sigma0(w21) + w20;
    s = round(s, 0x650a7354u + w36);
    let w37 = sigma1(w35) + w30 + sigma0(w22) + w21;
    s = round(s, 0x766a0abbu + w37);
    let w38 = sigma1(w36) + w31 + sigma0(w23) + w22;
    s = round(s, 0x81c2c92eu + w38);
    let w39 = sigma1(w37) + w32 + sigma0(w24) + w23;
    s = round(s, 0x92722c85u + w39);
    let w40 = sigma1(w38) + w33 + sigma0(w25) + w24;
    s = round(s, 0xa2bfe8a1u + w40);
    let w41 = sigma1(w39) + w34 + sigma0(w26) + w25;
    s = round(s, 0xa81a664bu + w41);
    let w42 = sigma1(w40) + w35 + sigma0(w27) + w26;
    s = round(s, 0xc24b8b70u + w42);
    let w43 = sigma1(w41) + w36 + sigma0(w28) + w27;
    s = round(s, 0xc76c51a3u + w43);
    let w44 = sigma1(w42) + w37 + sigma0(w29) + w28;
    s = round(s, 0xd192e819u + w44);
    let w45 = sigma1(w43) + w38 + sigma0(w30) + w29;
    s = round(s, 0xd6990624u + w45);
    let w46 = sigma1(w44) + w39 + sigma0(w31) + w30;
    s = round(s, 0xf40e3585u + w46);
    let w47 = sigma1(w45) + w40 + sigma0(w32) + w31;
    s = round(s, 0x106aa070u + w47);
    let w48 = sigma1(w46) + w41 + sigma0(w33) + w32;
    s = round(s, 0x19a4c116u + w48);
    let w49 = sigma1(w47) + w42 + sigma0(w34) + w33;
    s = round(s, 0x1e376c08u + w49);
    let w50 = sigma1(w48) + w43 + sigma0(w35) + w34;
    s = round(s, 0x2748774cu + w50);
    let w51 = sigma1(w49) + w44 + sigma0(w36) + w35;
    s = round(s, 0x34b0bcb5u + w51);
    let w52 = sigma1(w50) + w45 + sigma0(w37) + w36;
    s = round(s, 0x391c0cb3u + w52);
    let w53 = sigma1(w51) + w46 + sigma0(w38) + w37;
    s = round(s, 0x4ed8aa4au + w53);
    let w54 = sigma1(w52) + w47 + sigma0(w39) + w38;
    s = round(s, 0x5b9cca4fu + w54);
    let w55 = sigma1(w53) + w48 + sigma0(w40) + w39;
    s = round(s, 0x682e6ff3u + w55);
    let w56 = sigma1(w54) + w49 + sigma0(w41) + w40;
    s = round(s, 0x748f82eeu + w56);
    let w57 = sigma1(w55) + w50 + sigma0(w42) + w41;
    s = round(s, 0x78a5636fu + w57);
    let w58 = sigma1(w56) + w51 + sigma0(w43) + w42;
    s = round(s, 0x84c87814u + w58);
    let w59 = sigma1(w57) + w52 + sigma0(w44) + w43;
    s = round(s, 0x8cc70208u + w59);
    let w60 = sigma1(w58) + w53 + sigma0(w45) + w44;
    s = round(s, 0x90befffau + w60);
    let w61 = sigma1(w59) + w54 + sigma0(w46) + w45;
    s = round(s, 0xa4506cebu + w61);
    let w62 = sigma1(w60) + w55 + sigma0(w47) + w46;
    s = round(s, 0xbef9a3f7u + w62);
    let w63 = sigma1(w61) + w56 + sigma0(w48) + w47;
    s = round(s, 0xc67178f2u + w63);

    // Second hash: the first digest (32 bytes), then padding.
    let x0 = job.midstate_abcd.x + s.a;
    let x1 = job.midstate_abcd.y + s.b;
    let x2 = job.midstate_abcd.z + s.c;
    let x3 = job.midstate_abcd.w + s.d;
    let x4 = job.midstate_efgh.x + s.e;
    let x5 = job.midstate_efgh.y + s.f;
    let x6 = job.midstate_efgh.z + s.g;
    let x7 = job.midstate_efgh.w + s.h;
    let x8 = 0x80000000u;
    let x9 = 0u; let x10 = 0u; let x11 = 0u; let x12 = 0u; let x13 = 0u; let x14 = 0u;
    let x15 = 256u; // message length in bits
    var r = State(0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                  0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u);
    r = round(r, 0x428a2f98u + x0);
    r = round(r, 0x71374491u + x1);
    r = round(r, 0xb5c0fbcfu + x2);
    r = round(r, 0xe9b5dba5u + x3);
    r = round(r, 0x3956c25bu + x4);
    r = round(r, 0x59f111f1u + x5);
    r = round(r, 0x923f82a4u + x6);
    r = round(r, 0xab1c5ed5u + x7);
    r = round(r, 0xd807aa98u + x8);
    r = round(r, 0x12835b01u + x9);
    r = round(r, 0x243185beu + x10);
    r = round(r, 0x550c7dc3u + x11);
    r = round(r, 0x72be5d74u + x12);
    r = round(r, 0x80deb1feu + x13);
    r = round(r, 0x9bdc06a7u + x14);
    r = round(r, 0xc19bf174u + x15);
    let x16 = sigma1(x14) + x9 + sigma0(x1) + x0;
    r = round(r, 0xe49b69c1u + x16);
    let x17 = sigma1(x15) + x10 + sigma0(x2) + x1;
    r = round(r, 0xefbe4786u + x17);
    let x18 = sigma1(x16) + x11 + sigma0(x3) + x2;
    r = round(r, 0x0fc19dc6u + x18);
    let x19 = sigma1(x17) + x12 + sigma0(x4) + x3;
    r = round(r, 0x240ca1ccu + x19);
    let x20 = sigma1(x18) + x13 + sigma0(x5) + x4;
    r = round(r, 0x2de92c6fu + x20);
    let x21 = sigma1(x19) + x14 + sigma0(x6) + x5;
    r = round(r, 0x4a7484aau + x21);
    let x22 = sigma1(x20) + x15 + sigma0(x7) + x6;
    r = round(r, 0x5cb0a9dcu + x22);
    let x23 = sigma1(x21) + x16 + sigma0(x8) + x7;
    r = round(r, 0x76f988dau + x23);
    let x24 = sigma1(x22) + x17 + sigma0(x9) + x8;
    r = round(r, 0x983e5152u + x24);
    let x25 = sigma1(x23) + x18 + sigma0(x10) + x9;
    r = round(r, 0xa831c66du + x25);
    let x26 = sigma1(x24) + x19 + sigma0(x11) + x10;
    r = round(r, 0xb00327c8u + x26);
    let x27 = sigma1(x25) + x20 + sigma0(x12) + x11;
    r = round(r, 0xbf597fc7u + x27);
    let x28 = sigma1(x26) + x21 + sigma0(x13) + x12;
    r = round(r, 0xc6e00bf3u + x28);
    let x29 = sigma1(x27) + x22 + sigma0(x14) + x13;
    r = round(r, 0xd5a79147u + x29);
    let x30 = sigma1(x28) + x23 + sigma0(x15) + x14;
    r = round(r, 0x06ca6351u + x30);
    let x31 = sigma1(x29) + x24 + sigma0(x16) + x15;
    r = round(r, 0x14292967u + x31);
    let x32 = sigma1(x30) + x25 + sigma0(x17) + x16;
    r = round(r, 0x27b70a85u + x32);
    let x33 = sigma1(x31) + x26 + sigma0(x18) + x17;
    r = round(r, 0x2e1b2138u + x33);
    let x34 = sigma1(x32) + x27 + sigma0(x19) + x18;
    r = round(r, 0x4d2c6dfcu + x34);
    let x35 = sigma1(x33) + x28 + sigma0(x20) + x19;
    r = round(r, 0x53380d13u + x35);
    let x36 = sigma1(x34) + x29 + sigma0(x21) + x20;
    r = round(r, 0x650a7354u + x36);
    let x37 = sigma1(x35) + x30 + sigma0(x22) + x21;
    r = round(r, 0x766a0abbu + x37);
    let x38 = sigma1(x36) + x31 + sigma0(x23) + x22;
    r = round(r, 0x81c2c92eu + x38);
    let x39 = sigma1(x37) + x32 + sigma0(x24) + x23;
    r = round(r, 0x92722c85u + x39);
    let x40 = sigma1(x38) + x33 + sigma0(x25) + x24;
    r = round(r, 0xa2bfe8a1u + x40);
    let x41 = sigma1(x39) + x34 + sigma0(x26) + x25;
    r = round(r, 0xa81a664bu + x41);
    let x42 = sigma1(x40) + x35 + sigma0(x27) + x26;
    r = round(r, 0xc24b8b70u + x42);
    let x43 = sigma1(x41) + x36 + sigma0(x28) + x27;
    r = round(r, 0xc76c51a3u + x43);
    let x44 = sigma1(x42) + x37 + sigma0(x29) + x28;
    r = round(r, 0xd192e819u + x44);
    let x45 = sigma1(x43) + x38 + sigma0(x30) + x29;
    r = round(r, 0xd6990624u + x45);
    let x46 = sigma1(x44) + x39 + sigma0(x31) + x30;
    r = round(r, 0xf40e3585u + x46);
    let x47 = sigma1(x45) + x40 + sigma0(x32) + x31;
    r = round(r, 0x106aa070u + x47);
    let x48 = sigma1(x46) + x41 + sigma0(x33) + x32;
    r = round(r, 0x19a4c116u + x48);
    let x49 = sigma1(x47) + x42 + sigma0(x34) + x33;
    r = round(r, 0x1e376c08u + x49);
    let x50 = sigma1(x48) + x43 + sigma0(x35) + x34;
    r = round(r, 0x2748774cu + x50);
    let x51 = sigma1(x49) + x44 + sigma0(x36) + x35;
    r = round(r, 0x34b0bcb5u + x51);
    let x52 = sigma1(x50) + x45 + sigma0(x37) + x36;
    r = round(r, 0x391c0cb3u + x52);
    let x53 = sigma1(x51) + x46 + sigma0(x38) + x37;
    r = round(r, 0x4ed8aa4au + x53);
    let x54 = sigma1(x52) + x47 + sigma0(x39) + x38;
    r = round(r, 0x5b9cca4fu + x54);
    let x55 = sigma1(x53) + x48 + sigma0(x40) + x39;
    r = round(r, 0x682e6ff3u + x55);
    let x56 = sigma1(x54) + x49 + sigma0(x41) + x40;
    r = round(r, 0x748f82eeu + x56);
    let x57 = sigma1(x55) + x50 + sigma0(x42) + x41;
    r = round(r, 0x78a5636fu + x57);
    let x58 = sigma1(x56) + x51 + sigma0(x43) + x42;
    r = round(r, 0x84c87814u + x58);
    let x59 = sigma1(x57) + x52 + sigma0(x44) + x43;
    r = round(r, 0x8cc70208u + x59);
    let x60 = sigma1(x58) + x53 + sigma0(x45) + x44;
    r = round(r, 0x90befffau + x60);
    // After round 60, e is what becomes h three rounds later: h + IV[7]
    // is the last digest word. Rounds 61-63 are never needed.
    return 0x5be0cd19u + r.e;
}

fn record(nonce: u32, last_word: u32) {
    let slot = atomicAdd(&candidates.count, 1u);
    if (slot < arrayLength(&candidates.items)) {
        candidates.items[slot] = Candidate(nonce, last_word);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn search(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    // Dispatches are two-dimensional when one dimension's limit is too small.
    let invocation = (group.y * groups.x + group.x) * WORKGROUP_SIZE + local;
    let first = invocation * NONCES_PER_THREAD;
    for (var i = 0u; i < NONCES_PER_THREAD; i++) {
        let offset = first + i;
        if (offset >= job.nonce_count) {
            return;
        }
        let nonce = job.first_nonce + offset;
        let last = last_digest_word(nonce);
        if (byte_swap(last) <= job.target_top) {
            record(nonce, last);
        }
    }
}
