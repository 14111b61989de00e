//! The cooperative-matrix layer: tensor cores through wgpu's experimental
//! cooperative matrices (Vulkan's VK_KHR_cooperative_matrix).
//!
//! Every kernel that multiplies matrices on them (`gemm-f16`,
//! `peak-mma-f16`, flash attention, the LLM's projections, `gemm-skinny`
//! at batches of 16 and more) is written once against the names this layer
//! defines in WGSL, and runs at whichever native tile the adapter lists:
//!
//! - `T`: the tile's edge (M = N = K = T): 16 on NVIDIA and AMD, 8 on
//!   Mesa 26's lavapipe;
//! - `CoopA`, `CoopB`: f16 operand tiles; `CoopC`: an f32 accumulator.
//!
//! The shape is chosen from the adapter's own list, never assumed. Only
//! f32 accumulators are used: every adapter that lists f16 x f16 + f16 also
//! lists f16 x f16 + f32 (NVIDIA, AMD, Intel, lavapipe), and f16 sums lose
//! the precision a 14336-long K needs.

use wgpu::CooperativeScalarType::{F16, F32};

/// The cooperative-matrix configuration kernels use: square tiles of
/// `size`, f16 operands, f32 sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoopShape {
    pub size: u32,
}

impl CoopShape {
    /// The largest square f16 x f16 + f32 tile listed (more work per
    /// instruction) among the sizes WGSL names (`coop_mat8x8`,
    /// `coop_mat16x16`).
    pub fn choose(listed: &[wgpu::CooperativeMatrixProperties]) -> Option<CoopShape> {
        listed
            .iter()
            .filter(|p| p.m_size == p.n_size && p.n_size == p.k_size)
            .filter(|p| matches!(p.m_size, 8 | 16) && p.ab_type == F16 && p.cr_type == F32)
            .map(|p| CoopShape { size: p.m_size })
            .max_by_key(|s| s.size)
    }

    /// As `mwbench devices` lists it, e.g. `16x16x16 f16*f16+f32`.
    pub fn name(&self) -> String {
        let t = self.size;
        format!("{t}x{t}x{t} f16*f16+f32")
    }

    /// The WGSL that defines `T`, `CoopA`, `CoopB` and `CoopC` for a
    /// kernel written against this layer (see the module comment).
    pub fn preamble(&self) -> String {
        let t = self.size;
        format!(
            "enable f16;\n\
             enable wgpu_cooperative_matrix;\n\
             const T: u32 = {t}u;\n\
             alias CoopA = coop_mat{t}x{t}<f16, A>;\n\
             alias CoopB = coop_mat{t}x{t}<f16, B>;\n\
             alias CoopC = coop_mat{t}x{t}<f32, C>;\n"
        )
    }
}

/// For tests: the adapter's cooperative-matrix shape. Where
/// `MWBENCH_EXPECT_COOP` is set (by .ci/coop-matrix.sh, on Mesa 26's
/// lavapipe), an adapter without one fails the test: there the
/// cooperative-matrix kernels are never skipped silently. Tests that call
/// it have `coop` in their names, which is how the script selects them.
#[cfg(test)]
pub fn shape_for_tests(gpu: &super::Gpu) -> Option<CoopShape> {
    let shape = gpu.coop_shape();
    if std::env::var_os("MWBENCH_EXPECT_COOP").is_some() {
        assert!(
            shape.is_some(),
            "MWBENCH_EXPECT_COOP is set, but {} offers no f16 x f16 + f32 cooperative matrices",
            gpu.summary.label()
        );
    }
    shape
}

/// For tests: `wgsl` parses, validates and goes all the way to SPIR-V in
/// the naga wgpu compiles it with, under every bounds-check policy wgpu
/// uses. CI's default driver has no cooperative matrices, so this is how
/// a kernel's translation is checked at both tile sizes there.
#[cfg(test)]
pub fn assert_translates_to_spirv(wgsl: &str, context: &str) {
    use naga::back::spv;
    use naga::proc::{BoundsCheckPolicies, BoundsCheckPolicy};
    let module = naga::front::wgsl::parse_str(wgsl)
        .unwrap_or_else(|e| panic!("{context}: {}", e.emit_to_string(wgsl)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{context}: {e:?}"));
    let pipeline = spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: "main".into(),
    };
    for policy in [
        BoundsCheckPolicy::Restrict,
        BoundsCheckPolicy::ReadZeroSkipWrite,
        BoundsCheckPolicy::Unchecked,
    ] {
        let options = spv::Options {
            bounds_check_policies: BoundsCheckPolicies {
                index: policy,
                buffer: policy,
                image_load: policy,
                binding_array: policy,
            },
            ..spv::Options::default()
        };
        let words = spv::write_vec(&module, &info, &options, Some(&pipeline))
            .unwrap_or_else(|e| panic!("{context}, {policy:?}: {e}"));
        assert!(
            words.len() > 100,
            "{context}, {policy:?}: {} words",
            words.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(
        shapes: &[(u32, wgpu::CooperativeScalarType)],
    ) -> Vec<wgpu::CooperativeMatrixProperties> {
        shapes
            .iter()
            .map(|&(t, cr)| wgpu::CooperativeMatrixProperties {
                m_size: t,
                n_size: t,
                k_size: t,
                ab_type: F16,
                cr_type: cr,
                saturating_accumulation: false,
            })
            .collect()
    }

    #[test]
    fn the_largest_tile_with_f32_sums_is_chosen() {
        // NVIDIA lists 16x16x16 with both sums; lavapipe 26 8x8x8.
        let nvidia = listed(&[(16, F16), (16, F32), (8, F32)]);
        assert_eq!(CoopShape::choose(&nvidia), Some(CoopShape { size: 16 }));
        let lavapipe = listed(&[(8, F16), (8, F32)]);
        assert_eq!(CoopShape::choose(&lavapipe), Some(CoopShape { size: 8 }));
        assert_eq!(CoopShape::choose(&listed(&[(8, F16)])), None);
        assert_eq!(CoopShape::choose(&[]), None);
        assert_eq!(CoopShape::choose(&listed(&[(32, F32)])), None);
    }

    #[test]
    fn the_preamble_names_the_tile() {
        let shape = CoopShape { size: 8 };
        let preamble = shape.preamble();
        assert!(preamble.contains("const T: u32 = 8u;"));
        assert!(preamble.contains("alias CoopC = coop_mat8x8<f32, C>;"));
        assert_eq!(shape.name(), "8x8x8 f16*f16+f32");
    }
}
