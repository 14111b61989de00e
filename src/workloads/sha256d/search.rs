//! The GPU nonce search: host-side precomputation, the kernel launch, and
//! the CPU re-check of every hit the kernel reports.

use bytemuck::{Pod, Zeroable};

use super::header::{BlockHash, BlockHeader, Target};
use crate::gpu::{BufferCopy, Dispatch, Gpu};
use crate::{Error, Result};

const SHADER: &str = include_str!("../../../shaders/sha256d.wgsl");

/// How many candidates one dispatch can record. More than this (only with
/// targets far easier than bitcoin's) make [`NonceSearch::scan`] split the
/// range and scan the halves again.
const CANDIDATE_CAPACITY: u64 = 4096;
/// Bytes per recorded candidate: the nonce and the last digest word.
const CANDIDATE_BYTES: u64 = 2 * 4;
/// Most nonces in one dispatch: keeps every invocation index within u32.
pub const MAX_NONCES_PER_DISPATCH: u64 = 1 << 30;

/// Launch shape of the kernel: its two `override` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    pub workgroup_size: u32,
    pub nonces_per_thread: u32,
}

impl Default for Tuning {
    /// Chosen by measurement on lavapipe (see the README's table).
    fn default() -> Self {
        Tuning {
            workgroup_size: 64,
            nonces_per_thread: 128,
        }
    }
}

/// Workgroup sizes the run tries: two to eight 32-wide warps, one to four
/// 64-wide wavefronts.
const WORKGROUP_SIZES: [u32; 3] = [64, 128, 256];
/// Nonces per invocation the run tries: fewer keep more invocations in
/// flight on a small dispatch, more pay the set-up less often.
const NONCES_PER_THREAD: [u32; 3] = [32, 128, 512];

impl Tuning {
    /// Every launch shape a run probes on `gpu`: the default (lavapipe's
    /// choice) first, then each workgroup size by nonces per invocation
    /// that the adapter's workgroup limit allows.
    pub fn candidates(gpu: &Gpu) -> Vec<Tuning> {
        let most = gpu.summary.limits.max_compute_invocations_per_workgroup;
        let mut candidates = vec![Tuning::default()];
        for workgroup_size in WORKGROUP_SIZES {
            for nonces_per_thread in NONCES_PER_THREAD {
                let tuning = Tuning {
                    workgroup_size,
                    nonces_per_thread,
                };
                if workgroup_size <= most && !candidates.contains(&tuning) {
                    candidates.push(tuning);
                }
            }
        }
        candidates
    }

    /// As results record it (`variant`).
    pub fn name(&self) -> String {
        format!(
            "{} invocations/workgroup, {} nonces each",
            self.workgroup_size, self.nonces_per_thread
        )
    }
}

/// What the kernel reads: everything about the header that does not
/// depend on the nonce, precomputed once on the host. Field order and
/// meaning match `struct Job` in `shaders/sha256d.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
struct Job {
    target_top: u32,
    first_nonce: u32,
    nonce_count: u32,
    round3_a: u32,
    round3_e: u32,
    w16: u32,
    w17: u32,
    w18_part: u32,
    w19_part: u32,
    pad: [u32; 3],
    midstate: [u32; 8],
    state3: [u32; 8],
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
/// The round constants of the four rounds the host runs (FIPS 180-4, 4.2.2).
const K: [u32; 4] = [0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5];

fn big_sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}
fn big_sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}
fn sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
fn sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

impl Job {
    fn new(header: &BlockHeader, target: &Target) -> Self {
        let mut midstate = IV;
        let first_chunk: [u8; 64] = header.0[..64].try_into().unwrap();
        sha2::block_api::compress256(&mut midstate, &[first_chunk]);

        // Second chunk words 0-2: the merkle root's tail, time and bits.
        let w: [u32; 3] = std::array::from_fn(|i| {
            u32::from_be_bytes(header.0[64 + 4 * i..68 + 4 * i].try_into().unwrap())
        });
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = midstate;
        for round in 0..3 {
            let t1 = h
                .wrapping_add(big_sigma1(e))
                .wrapping_add(g ^ (e & (f ^ g)))
                .wrapping_add(K[round])
                .wrapping_add(w[round]);
            let t2 = big_sigma0(a).wrapping_add((a & b) | (c & (a | b)));
            (h, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        // Round 3 without its message word, which is the nonce.
        let t1 = h
            .wrapping_add(big_sigma1(e))
            .wrapping_add(g ^ (e & (f ^ g)))
            .wrapping_add(K[3]);
        let t2 = big_sigma0(a).wrapping_add((a & b) | (c & (a | b)));
        // Message words 16-19; words 4-15 are padding: 0x80000000, zeros, 640.
        let w16 = sigma0(w[1]).wrapping_add(w[0]);
        let w17 = sigma1(640).wrapping_add(sigma0(w[2])).wrapping_add(w[1]);
        let w18_without_nonce = sigma1(w16).wrapping_add(w[2]);
        let w19_without_nonce = sigma1(w17).wrapping_add(sigma0(0x8000_0000));

        Job {
            target_top: target.words()[0],
            first_nonce: 0,
            nonce_count: 0,
            round3_a: t1.wrapping_add(t2),
            round3_e: d.wrapping_add(t1),
            w16,
            w17,
            w18_part: w18_without_nonce,
            w19_part: w19_without_nonce,
            pad: [0; 3],
            midstate,
            state3: [a, b, c, d, e, f, g, h],
        }
    }

    fn for_range(mut self, start: u32, count: u32) -> Self {
        self.first_nonce = start;
        self.nonce_count = count;
        self
    }
}

/// A nonce whose double hash meets the target, re-checked on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub nonce: u32,
    pub hash: BlockHash,
}

/// The outcome of scanning a range of nonces.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// Every hit in the range, by ascending nonce, each CPU-verified.
    pub hits: Vec<Hit>,
    /// Nonces hashed.
    pub hashes: u64,
    /// Kernel time, summed over dispatches.
    pub seconds: f64,
}

/// A compiled search kernel bound to one header and target.
pub struct NonceSearch<'g> {
    gpu: &'g Gpu,
    header: BlockHeader,
    target: Target,
    job: Job,
    tuning: Tuning,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    job_buffer: wgpu::Buffer,
    hits: wgpu::Buffer,
    readback: wgpu::Buffer,
}

impl<'g> NonceSearch<'g> {
    pub fn new(
        gpu: &'g Gpu,
        header: &BlockHeader,
        target: &Target,
        tuning: Tuning,
    ) -> Result<Self> {
        let pipeline = gpu.compute_pipeline(
            "sha256d",
            SHADER,
            "search",
            &[
                ("WORKGROUP_SIZE", f64::from(tuning.workgroup_size)),
                ("NONCES_PER_THREAD", f64::from(tuning.nonces_per_thread)),
            ],
        )?;
        Ok(Self::with_pipeline(gpu, header, target, tuning, pipeline))
    }

    /// The same kernel, compiled once, bound to another header and target:
    /// checking a launch shape on real blocks costs no second compile.
    pub fn for_header(&self, header: &BlockHeader, target: &Target) -> NonceSearch<'g> {
        Self::with_pipeline(self.gpu, header, target, self.tuning, self.pipeline.clone())
    }

    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    fn with_pipeline(
        gpu: &'g Gpu,
        header: &BlockHeader,
        target: &Target,
        tuning: Tuning,
        pipeline: wgpu::ComputePipeline,
    ) -> Self {
        let job_buffer = gpu.buffer(
            "sha256d job",
            std::mem::size_of::<Job>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let hits_bytes = 4 + CANDIDATE_CAPACITY * CANDIDATE_BYTES;
        let hits = gpu.buffer(
            "sha256d candidates",
            hits_bytes,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        );
        let readback = gpu.readback_buffer("sha256d candidates readback", hits_bytes);
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("sha256d"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: job_buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: hits.as_entire_binding(),
                },
            ],
        });
        NonceSearch {
            gpu,
            header: *header,
            target: *target,
            job: Job::new(header, target),
            tuning,
            pipeline,
            bind_group,
            job_buffer,
            hits,
            readback,
        }
    }

    /// Scans nonces `start .. start + count` (within u32), splitting into
    /// as many dispatches as needed. Every hit is re-hashed on the CPU.
    pub fn scan(&self, start: u64, count: u64) -> Result<Scan> {
        let mut hits = Vec::new();
        let (hashes, seconds) = self.scan_each(start, count, &mut |hit| {
            hits.push(hit);
            Ok(())
        })?;
        Ok(Scan {
            hits,
            hashes,
            seconds,
        })
    }

    /// [`NonceSearch::scan`] that hands each hit to `on_hit` as soon as its
    /// dispatch is checked, by ascending nonce, instead of keeping them: a
    /// target that nearly every nonce meets needs no memory per hit.
    /// Returns the nonces hashed and the kernel seconds.
    pub fn scan_each(
        &self,
        start: u64,
        count: u64,
        on_hit: &mut dyn FnMut(Hit) -> Result<()>,
    ) -> Result<(u64, f64)> {
        assert!(start + count <= 1 << 32, "nonce range past u32");
        let (mut hashes, mut seconds) = (0, 0.0);
        // A stack whose top is always the lowest range left: hits come out
        // in order.
        let mut pending = vec![(start, count)];
        while let Some((start, count)) = pending.pop() {
            if count == 0 {
                continue;
            }
            if count > MAX_NONCES_PER_DISPATCH {
                let half = MAX_NONCES_PER_DISPATCH;
                pending.push((start + half, count - half));
                pending.push((start, half));
                continue;
            }
            let mut dispatch = self.dispatch(start as u32, count as u32)?;
            seconds += dispatch.seconds;
            if dispatch.overflowed && count > 1 {
                // Too many hits to record: scan both halves again.
                let half = count / 2;
                pending.push((start + half, count - half));
                pending.push((start, half));
                continue;
            }
            hashes += count;
            dispatch.hits.sort_by_key(|hit| hit.nonce);
            for hit in dispatch.hits {
                on_hit(hit)?;
            }
        }
        Ok((hashes, seconds))
    }

    /// One dispatch over at most [`MAX_NONCES_PER_DISPATCH`] nonces.
    pub fn dispatch(&self, start: u32, count: u32) -> Result<Dispatched> {
        debug_assert!(u64::from(count) <= MAX_NONCES_PER_DISPATCH);
        let job = self.job.for_range(start, count);
        self.gpu
            .queue
            .write_buffer(&self.job_buffer, 0, bytemuck::bytes_of(&job));
        self.gpu
            .queue
            .write_buffer(&self.hits, 0, &0u32.to_le_bytes());
        let threads = u64::from(count).div_ceil(u64::from(self.tuning.nonces_per_thread));
        let workgroups = threads.div_ceil(u64::from(self.tuning.workgroup_size));
        let seconds = self.gpu.run_timed(
            &Dispatch {
                pipeline: &self.pipeline,
                bind_group: &self.bind_group,
                workgroups: self.gpu.workgroup_grid(workgroups),
                then: Vec::new(),
                repeat: 1,
            },
            &[BufferCopy {
                from: &self.hits,
                to: &self.readback,
                bytes: self.hits.size(),
            }],
        )?;
        let bytes = self.gpu.read(&self.readback)?;
        let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes);
        let reported = u64::from(words[0]);
        let recorded = reported.min(CANDIDATE_CAPACITY) as usize;
        let mut hits = Vec::new();
        for candidate in words[1..1 + recorded * 2].chunks_exact(2) {
            hits.extend(self.verify(start, count, candidate[0], candidate[1])?);
        }
        Ok(Dispatched {
            hits,
            overflowed: reported > CANDIDATE_CAPACITY,
            seconds,
        })
    }

    /// Checks a candidate the kernel reported against the CPU reference:
    /// it must lie in the dispatched range, the kernel's last digest word
    /// must be the CPU's, and that word must pass the early test. Returns
    /// the hit when the full 256-bit compare passes too.
    fn verify(
        &self,
        start: u32,
        count: u32,
        nonce: u32,
        gpu_last_word: u32,
    ) -> Result<Option<Hit>> {
        let fail = |what: String| {
            Err(Error::VerificationFailed(format!(
                "sha256d on {}: {what}",
                self.gpu.summary.label()
            )))
        };
        if nonce.wrapping_sub(start) >= count {
            return fail(format!(
                "the GPU reported nonce {nonce}, outside the range it was given"
            ));
        }
        let hash = self.header.hash_with_nonce(nonce);
        let cpu_last_word = u32::from_be_bytes(hash.0[28..32].try_into().unwrap());
        if gpu_last_word != cpu_last_word {
            return fail(format!(
                "for nonce {nonce} the GPU computed the digest's last word {gpu_last_word:08x}, \
                 the CPU {cpu_last_word:08x} (hash {hash})"
            ));
        }
        if cpu_last_word.swap_bytes() > self.target.words()[0] {
            return fail(format!(
                "the GPU reported nonce {nonce}, whose hash {hash} fails even the early test"
            ));
        }
        Ok(self.target.is_met_by(&hash).then_some(Hit { nonce, hash }))
    }
}

/// The outcome of one dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    pub hits: Vec<Hit>,
    /// More hits than could be recorded: `hits` is incomplete.
    pub overflowed: bool,
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's rounds 0-2 must equal a straight SHA-256 of the chunk: run
    /// the remaining rounds here in plain Rust from the job and compare with
    /// sha2's first hash for a few nonces.
    #[test]
    fn precomputed_job_finishes_to_the_reference_first_hash() {
        const K_ALL: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let header = super::super::header::BLOCK_125552.header();
        let target = Target::from_bits(header.bits()).unwrap();
        let job = Job::new(&header, &target);
        for nonce in [0u32, 1, 0xdead_beef, header.nonce()] {
            let w3 = nonce.swap_bytes();
            let mut w = [0u32; 64];
            w[3] = w3;
            w[4] = 0x8000_0000;
            w[15] = 640;
            w[16] = job.w16;
            w[17] = job.w17;
            w[18] = job.w18_part.wrapping_add(sigma0(w3));
            w[19] = job.w19_part.wrapping_add(w3);
            for i in 20..64 {
                w[i] = sigma1(w[i - 2])
                    .wrapping_add(w[i - 7])
                    .wrapping_add(sigma0(w[i - 15]))
                    .wrapping_add(w[i - 16]);
            }
            let [sa, sb, sc, _, se, sf, sg, _] = job.state3;
            let mut s = [
                job.round3_a.wrapping_add(w3),
                sa,
                sb,
                sc,
                job.round3_e.wrapping_add(w3),
                se,
                sf,
                sg,
            ];
            for i in 4..64 {
                let [a, b, c, d, e, f, g, h] = s;
                let t1 = h
                    .wrapping_add(big_sigma1(e))
                    .wrapping_add(g ^ (e & (f ^ g)))
                    .wrapping_add(K_ALL[i])
                    .wrapping_add(w[i]);
                let t2 = big_sigma0(a).wrapping_add((a & b) | (c & (a | b)));
                s = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
            }
            let midstate = job.midstate;
            let first: Vec<u8> = (0..8)
                .flat_map(|i| midstate[i].wrapping_add(s[i]).to_be_bytes())
                .collect();
            use sha2::Digest;
            let expected = sha2::Sha256::digest(header.with_nonce(nonce));
            assert_eq!(first, expected.to_vec(), "nonce {nonce}");
        }
    }
}

/// These need an adapter (lavapipe on CI) and fail loudly without one.
#[cfg(test)]
mod gpu_tests {
    use super::*;
    use crate::gpu;
    use crate::workloads::sha256d::header::{BLOCK_125552, GENESIS};

    /// Every nonce in `range` whose hash meets `target`, by the CPU.
    fn cpu_hits(header: &BlockHeader, target: &Target, range: std::ops::Range<u32>) -> Vec<u32> {
        range
            .filter(|&n| target.is_met_by(&header.hash_with_nonce(n)))
            .collect()
    }

    #[test]
    fn easy_target_hits_match_the_cpu_exactly() {
        let gpu = gpu::default_for_tests();
        let header = GENESIS.header();
        // About one nonce in 256 meets this target.
        let target = Target::from_hex(&format!("00ff{}", "f".repeat(60))).unwrap();
        let search = NonceSearch::new(&gpu, &header, &target, Tuning::default()).unwrap();
        let scan = search.scan(1000, 20_000).unwrap();
        let gpu_nonces: Vec<u32> = scan.hits.iter().map(|h| h.nonce).collect();
        assert!(gpu_nonces.len() > 20, "{gpu_nonces:?}");
        assert_eq!(gpu_nonces, cpu_hits(&header, &target, 1000..21_000));
        assert_eq!(scan.hashes, 20_000);
    }

    /// Half of all nonces pass the early test for this target, so one
    /// dispatch overflows the candidate buffer and the range is split.
    #[test]
    fn more_candidates_than_capacity_are_rescanned_not_lost() {
        let gpu = gpu::default_for_tests();
        let header = BLOCK_125552.header();
        let target = Target::from_hex(&format!("7fffffff{}", "0".repeat(56))).unwrap();
        let search = NonceSearch::new(&gpu, &header, &target, Tuning::default()).unwrap();
        let count = 3 * CANDIDATE_CAPACITY as u32;
        let scan = search.scan(0, u64::from(count)).unwrap();
        let gpu_nonces: Vec<u32> = scan.hits.iter().map(|h| h.nonce).collect();
        assert_eq!(gpu_nonces, cpu_hits(&header, &target, 0..count));
        assert_eq!(scan.hashes, u64::from(count));
    }

    #[test]
    fn real_blocks_are_found_at_their_real_targets() {
        let gpu = gpu::default_for_tests();
        for block in [GENESIS, BLOCK_125552] {
            let header = block.header();
            let target = Target::from_bits(header.bits()).unwrap();
            let search = NonceSearch::new(&gpu, &header, &target, Tuning::default()).unwrap();
            // A range that ends right after the nonce and crosses a
            // dispatch's last partial workgroup.
            let scan = search
                .scan(u64::from(block.nonce) - 100_000, 100_001)
                .unwrap();
            assert_eq!(scan.hits.len(), 1, "block {}", block.height);
            assert_eq!(scan.hits[0].nonce, block.nonce);
            assert_eq!(scan.hits[0].hash.to_string(), block.hash);
            // One nonce before the end: nothing.
            let before = search
                .scan(u64::from(block.nonce) - 100_000, 100_000)
                .unwrap();
            assert!(before.hits.is_empty());
        }
    }

    /// Every launch shape a run may keep finds both real blocks' nonces
    /// with their published hashes, and nothing else, in windows that end
    /// on the nonce and are no multiple of any invocation's run of nonces
    /// (so the last workgroup is cut).
    #[test]
    fn every_launch_shape_finds_the_real_blocks() {
        let gpu = gpu::default_for_tests();
        let candidates = Tuning::candidates(&gpu);
        assert_eq!(candidates[0], Tuning::default(), "the default first");
        assert_eq!(candidates.len(), 9, "{candidates:?}");
        for tuning in candidates {
            let genesis = GENESIS.header();
            let target = Target::from_bits(genesis.bits()).unwrap();
            let compiled = NonceSearch::new(&gpu, &genesis, &target, tuning).unwrap();
            for block in [GENESIS, BLOCK_125552] {
                let header = block.header();
                let target = Target::from_bits(header.bits()).unwrap();
                let search = compiled.for_header(&header, &target);
                let scan = search
                    .scan(u64::from(block.nonce) - 30_000, 30_001)
                    .unwrap();
                let found: Vec<(u32, String)> = scan
                    .hits
                    .iter()
                    .map(|hit| (hit.nonce, hit.hash.to_string()))
                    .collect();
                assert_eq!(
                    found,
                    [(block.nonce, block.hash.to_string())],
                    "{} on block {}",
                    tuning.name(),
                    block.height
                );
            }
        }
    }
}
