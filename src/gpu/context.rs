//! The device opened on one adapter: pipelines, buffers, and the one place
//! that submits work and waits for it.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::adapters::AdapterSummary;
use super::timing::{TimestampQueries, TimingMethod};
pub use crate::results::DeviceMemory;
use crate::{Error, Result};

thread_local! {
    /// Set while this thread compiles a shader, whose panics
    /// [`Gpu::compute_pipeline`] catches.
    static COMPILING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic on this thread is the shader compiler's, which
/// mwbench catches and reports as the workload's failure (the binary's
/// panic hook then stays quiet).
pub fn compiler_panic_is_caught() -> bool {
    COMPILING.with(std::cell::Cell::get)
}

/// Runs `compile`, turning a panic in it into its message's first line.
fn catch_compiler_panic<T>(compile: impl FnOnce() -> T) -> std::result::Result<T, String> {
    COMPILING.with(|c| c.set(true));
    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(compile));
    COMPILING.with(|c| c.set(false));
    compiled.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        message.lines().next().unwrap_or(message).to_string()
    })
}

/// One kernel launch: a pipeline, its bind group and the workgroup grid,
/// then the kernels in `then` (a chain built by [`Dispatch::chain`], such
/// as attention's partial and combine passes), the whole dispatched `repeat` times in one compute pass
/// (so that a timed sample can be made as long as needed without more
/// submissions).
#[derive(Clone)]
pub struct Dispatch<'a> {
    pub pipeline: &'a wgpu::ComputePipeline,
    pub bind_group: &'a wgpu::BindGroup,
    pub workgroups: [u32; 3],
    pub then: Vec<(&'a Kernel, [u32; 3])>,
    pub repeat: u32,
}

impl<'a> Dispatch<'a> {
    /// The kernels of `steps` one after another, each over its grid.
    /// Panics on an empty chain (a bug, not an input).
    pub fn chain(steps: &'a [(Kernel, [u32; 3])]) -> Self {
        let ((first, workgroups), rest) = steps.split_first().expect("a chain of kernels");
        let mut dispatch = first.dispatch(*workgroups);
        dispatch.then = rest.iter().map(|(k, w)| (k, *w)).collect();
        dispatch
    }
}

/// A compiled kernel with its buffers bound, in order, to group 0.
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
}

impl Kernel {
    /// A launch of this kernel over `workgroups`, once.
    pub fn dispatch(&self, workgroups: [u32; 3]) -> Dispatch<'_> {
        Dispatch {
            pipeline: &self.pipeline,
            bind_group: &self.bind_group,
            workgroups,
            then: Vec::new(),
            repeat: 1,
        }
    }
}

/// A buffer-to-buffer copy queued after a dispatch in the same submission
/// (typically a storage buffer into a mappable readback buffer).
pub struct BufferCopy<'a> {
    pub from: &'a wgpu::Buffer,
    pub to: &'a wgpu::Buffer,
    pub bytes: u64,
}

/// A device and queue on one adapter, with what is needed to time kernels.
pub struct Gpu {
    pub summary: AdapterSummary,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    timestamps: Option<TimestampQueries>,
    /// Errors wgpu reports outside an error scope (device lost, validation
    /// in a submit); checked after every submission instead of panicking.
    uncaptured: Arc<Mutex<Option<String>>>,
    /// Set when the driver reports the device lost.
    lost: Arc<Mutex<Option<String>>>,
    /// Longest wait for a submission before the GPU counts as hung.
    kernel_timeout: Duration,
    /// Cooperative matrix configurations the device was opened with.
    cooperative_matrix: Vec<wgpu::CooperativeMatrixProperties>,
    /// Pipelines compiled so far, by everything that goes into one: an
    /// LLM layer binds the same few kernels to dozens of buffers, and a
    /// software driver takes seconds to compile each.
    pipelines: Mutex<std::collections::HashMap<PipelineKey, wgpu::ComputePipeline>>,
    /// The memory the device's buffers come from, where known (wgpu does
    /// not say): what bounds an LLM's batch.
    pub memory: Option<DeviceMemory>,
}

/// What makes two pipelines the same: the source, entry point, override
/// constants (as bits: f64 is not Eq) and runtime checks.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PipelineKey {
    wgsl: String,
    entry_point: String,
    constants: Vec<(String, u64)>,
    checks: String,
}

/// A CPU adapter's memory is the host's: `MemTotal` of /proc/meminfo.
pub fn host_memory() -> Option<DeviceMemory> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    // Below 64 MiB or above 1 PiB is not a real host's memory.
    kib.checked_mul(1024)
        .filter(|bytes| crate::results::DEVICE_MEMORY_BYTES.contains(bytes))
        .map(|bytes| DeviceMemory {
            bytes,
            source: "host memory, /proc/meminfo".into(),
        })
}

/// How long a submission may take before the GPU counts as hung: far
/// above any calibrated sample (a quarter of a second) and any check.
pub const DEFAULT_KERNEL_TIMEOUT: Duration = Duration::from_secs(60);
/// The same on a CPU adapter (lavapipe), whose uncalibrated checks take
/// seconds alone and many times longer on a CPU busy with other work.
pub const DEFAULT_CPU_KERNEL_TIMEOUT: Duration = Duration::from_secs(600);

impl Gpu {
    /// Opens a device with the adapter's own limits (wgpu's defaults would
    /// cap storage bindings at 128 MiB) and timestamp queries where offered.
    pub fn open(adapter: &wgpu::Adapter, summary: AdapterSummary) -> Result<Self> {
        let wanted = wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::SHADER_F16
            | wgpu::Features::SUBGROUP
            | wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX;
        let features = adapter.features() & wanted;
        let cooperative_matrix =
            if features.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX) {
                adapter.cooperative_matrix_properties()
            } else {
                Vec::new()
            };
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("mwbench"),
            required_features: features,
            required_limits: adapter.limits(),
            // SAFETY: only asked for where the adapter offers cooperative
            // matrices, the one experimental feature used (by gemm-f16,
            // whose output is checked against the CPU like every kernel's).
            experimental_features: if cooperative_matrix.is_empty() {
                wgpu::ExperimentalFeatures::disabled()
            } else {
                unsafe { wgpu::ExperimentalFeatures::enabled() }
            },
            ..Default::default()
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| Error::Gpu {
                adapter: summary.label(),
                message: format!("cannot open the device: {e}"),
            })?;
        let uncaptured = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| error.to_string());
        }));
        let lost = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| format!("the device was lost ({reason:?}): {message}"));
        });
        let timestamps = features
            .contains(wgpu::Features::TIMESTAMP_QUERY)
            .then(|| TimestampQueries::new(&device, queue.get_timestamp_period()));
        let kernel_timeout = if summary.device_type == crate::results::DeviceType::Cpu {
            DEFAULT_CPU_KERNEL_TIMEOUT
        } else {
            DEFAULT_KERNEL_TIMEOUT
        };
        let memory = if summary.device_type == crate::results::DeviceType::Cpu {
            host_memory()
        } else {
            None
        };
        Ok(Gpu {
            summary,
            device,
            queue,
            timestamps,
            uncaptured,
            lost,
            kernel_timeout,
            cooperative_matrix,
            pipelines: Mutex::default(),
            memory,
        })
    }

    /// The same device, with its memory as a sensor (NVML) reports it.
    pub fn with_memory(mut self, memory: Option<DeviceMemory>) -> Self {
        if memory.is_some() {
            self.memory = memory;
        }
        self
    }

    /// The same device, waiting at most `timeout` for any submission.
    pub fn with_kernel_timeout(mut self, timeout: Duration) -> Self {
        self.kernel_timeout = timeout;
        self
    }

    /// The cooperative-matrix tile the device's kernels use (see
    /// [`super::coop`]), chosen from the ones it lists; None without them.
    pub fn coop_shape(&self) -> Option<super::CoopShape> {
        super::CoopShape::choose(&self.cooperative_matrix)
    }

    /// How dispatches on this device are timed.
    pub fn timing_method(&self) -> TimingMethod {
        if self.timestamps.is_some() {
            TimingMethod::GpuTimestamps
        } else {
            TimingMethod::HostClock
        }
    }

    /// An error about this device.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Gpu {
            adapter: self.summary.label(),
            message: message.into(),
        }
    }

    fn lost_error(&self, message: String) -> Error {
        Error::GpuLost {
            adapter: self.summary.label(),
            message,
        }
    }

    /// Compiles a WGSL compute shader, with values for its `override`
    /// constants and wgpu's bounds checks on every buffer access; a compile
    /// or validation error comes back as an error.
    pub fn compute_pipeline(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
    ) -> Result<wgpu::ComputePipeline> {
        // SAFETY: checked: wgpu keeps every access inside its buffer.
        unsafe {
            self.pipeline_with_checks(
                label,
                wgsl,
                entry_point,
                constants,
                wgpu::ShaderRuntimeChecks::checked(),
            )
        }
    }

    /// [`Gpu::compute_pipeline`] with the runtime checks given.
    ///
    /// # Safety
    /// With checks off, every index the shader computes must be in range
    /// for the buffers bound (see [`Gpu::kernel_trusted`]).
    unsafe fn pipeline_with_checks(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
        checks: wgpu::ShaderRuntimeChecks,
    ) -> Result<wgpu::ComputePipeline> {
        let key = PipelineKey {
            wgsl: wgsl.to_string(),
            entry_point: entry_point.to_string(),
            constants: constants
                .iter()
                .map(|&(name, value)| (name.to_string(), value.to_bits()))
                .collect(),
            checks: format!("{checks:?}"),
        };
        let cached = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pipeline) = cached.get(&key) {
            return Ok(pipeline.clone());
        }
        drop(cached);
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(wgsl)),
        };
        let compile = || {
            // SAFETY: this function's caller vouches for the indices where
            // `checks` are off.
            let module = unsafe { self.device.create_shader_module_trusted(desc, checks) };
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(label),
                    layout: None,
                    module: &module,
                    entry_point: Some(entry_point),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        ..Default::default()
                    },
                    cache: None,
                })
        };
        // naga can panic on a shader it validated (it did on an H200, for
        // one path no CI adapter takes): that fails this kernel's workload,
        // not the whole run.
        let pipeline = match catch_compiler_panic(compile) {
            Ok(pipeline) => pipeline,
            Err(why) => {
                let _ = pollster::block_on(scope.pop());
                return Err(self.error(format!(
                    "shader '{label}': the shader compiler (naga) crashed on it: {why}"
                )));
            }
        };
        match pollster::block_on(scope.pop()) {
            Some(error) => Err(self.error(format!("shader '{label}' does not compile: {error}"))),
            None => {
                let mut cached = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
                cached.insert(key, pipeline.clone());
                Ok(pipeline)
            }
        }
    }

    /// Compiles `wgsl` and binds `buffers` to group 0, bindings 0, 1, ...
    pub fn kernel(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
        buffers: &[&wgpu::Buffer],
    ) -> Result<Kernel> {
        let bindings: Vec<(u32, &wgpu::Buffer)> = (0..).zip(buffers.iter().copied()).collect();
        self.kernel_at(label, wgsl, entry_point, constants, &bindings)
    }

    /// [`Gpu::kernel`] for one of several entry points in a module, which
    /// uses only some of its bindings: `(binding, buffer)` pairs.
    pub fn kernel_at(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Result<Kernel> {
        // SAFETY: checked.
        unsafe {
            self.bind_kernel(
                label,
                wgsl,
                entry_point,
                constants,
                bindings,
                wgpu::ShaderRuntimeChecks::checked(),
            )
        }
    }

    /// [`Gpu::kernel`] without the bounds checks wgpu adds to every buffer
    /// access (naga's, and the driver's robust access where it can be
    /// turned off). On lavapipe it made no difference to GEMM within the
    /// noise (5%); it may on GPUs, where a clamp per load costs ALU time.
    ///
    /// # Safety
    /// Every index the shader computes must be in range for the buffers
    /// bound, for every shape the caller lets through; a stray one reads
    /// or writes memory that is not the buffer's. Use it only for kernels
    /// whose host code checks the shape and whose tests check every output.
    pub unsafe fn kernel_trusted(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
        buffers: &[&wgpu::Buffer],
    ) -> Result<Kernel> {
        let bindings: Vec<(u32, &wgpu::Buffer)> = (0..).zip(buffers.iter().copied()).collect();
        // SAFETY: the caller vouches for every index (this function's
        // contract).
        unsafe { self.kernel_trusted_at(label, wgsl, entry_point, constants, &bindings) }
    }

    /// [`Gpu::kernel_trusted`] with `(binding, buffer)` pairs.
    ///
    /// # Safety
    /// As [`Gpu::kernel_trusted`].
    pub unsafe fn kernel_trusted_at(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Result<Kernel> {
        // SAFETY: the caller vouches for every index (this function's
        // contract).
        unsafe {
            self.bind_kernel(
                label,
                wgsl,
                entry_point,
                constants,
                bindings,
                wgpu::ShaderRuntimeChecks::unchecked(),
            )
        }
    }

    /// # Safety
    /// As [`Gpu::pipeline_with_checks`].
    unsafe fn bind_kernel(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
        bindings: &[(u32, &wgpu::Buffer)],
        checks: wgpu::ShaderRuntimeChecks,
    ) -> Result<Kernel> {
        // SAFETY: passed on from this function's caller.
        let pipeline =
            unsafe { self.pipeline_with_checks(label, wgsl, entry_point, constants, checks)? };
        let entries: Vec<wgpu::BindGroupEntry> = bindings
            .iter()
            .map(|&(binding, buffer)| wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Ok(Kernel {
            pipeline,
            bind_group,
        })
    }

    /// Fails with [`Error::Unsupported`] when a storage buffer of `bytes`
    /// exceeds the adapter's limits; call it before allocating anything.
    pub fn check_fits(&self, what: &str, bytes: u64) -> Result<()> {
        let limits = &self.summary.limits;
        let (limit, name) = if limits.max_storage_buffer_binding_size < limits.max_buffer_size {
            (
                limits.max_storage_buffer_binding_size,
                "max_storage_buffer_binding_size",
            )
        } else {
            (limits.max_buffer_size, "max_buffer_size")
        };
        if bytes > limit {
            return Err(Error::Unsupported(format!(
                "{what} needs {bytes} bytes in one storage buffer, over the adapter's \
                 {name} of {limit} bytes"
            )));
        }
        Ok(())
    }

    /// A storage buffer holding `data`.
    pub fn upload<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// A storage buffer of `bytes` bytes for a kernel to write.
    pub fn output(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.buffer(
            label,
            bytes,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// Fills a buffer with NaN (all bits 0xff), so that an element a kernel
    /// fails to write can never pass for a result.
    pub fn poison(&self, buffer: &wgpu::Buffer) {
        let bytes = vec![0xffu8; buffer.size() as usize];
        self.queue.write_buffer(buffer, 0, &bytes);
    }

    /// Copies a storage buffer back to the host.
    pub fn download(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        let readback = self.readback_buffer("download", buffer.size());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(buffer, 0, &readback, 0, buffer.size());
        self.queue.submit([encoder.finish()]);
        self.read(&readback)
    }

    /// A buffer of `bytes` bytes with the given usages.
    pub fn buffer(&self, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage,
            mapped_at_creation: false,
        })
    }

    /// A buffer the host can map to read what a kernel wrote.
    pub fn readback_buffer(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.buffer(
            label,
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// Turns a one-dimensional count of workgroups into a grid that stays
    /// within the per-dimension limit; kernels must ignore the few extra
    /// invocations the rounding adds.
    pub fn workgroup_grid(&self, workgroups: u64) -> [u32; 3] {
        let max = u64::from(
            self.summary
                .limits
                .max_compute_workgroups_per_dimension
                .max(1),
        );
        let x = workgroups.clamp(1, max);
        let y = workgroups.div_ceil(x).max(1);
        [x as u32, y.min(max) as u32, 1]
    }

    /// Runs one dispatch followed by `copies`, waits for it, and returns the
    /// kernel's time in seconds: from GPU timestamps around the compute pass
    /// where the adapter has them, else a host clock around the submission.
    pub fn run_timed(&self, dispatch: &Dispatch, copies: &[BufferCopy]) -> Result<f64> {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: self.timestamps.as_ref().map(TimestampQueries::pass_writes),
            });
            let first = (dispatch.pipeline, dispatch.bind_group, dispatch.workgroups);
            let rest = dispatch
                .then
                .iter()
                .map(|(k, w)| (&k.pipeline, &k.bind_group, *w));
            let chain: Vec<_> = std::iter::once(first).chain(rest).collect();
            for _ in 0..dispatch.repeat.max(1) {
                for &(pipeline, bind_group, [x, y, z]) in &chain {
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, bind_group, &[]);
                    pass.dispatch_workgroups(x, y, z);
                }
            }
        }
        for copy in copies {
            encoder.copy_buffer_to_buffer(copy.from, 0, copy.to, 0, copy.bytes);
        }
        if let Some(timestamps) = &self.timestamps {
            timestamps.resolve(&mut encoder);
        }
        let started = Instant::now();
        self.queue.submit([encoder.finish()]);
        self.wait()?;
        let host_seconds = started.elapsed().as_secs_f64();
        match &self.timestamps {
            Some(timestamps) => {
                let bytes = self.read(timestamps.readback())?;
                // A kernel shorter than one tick reads as zero: fall back to
                // the host clock rather than report an infinite rate.
                let gpu_seconds = timestamps.seconds(&bytes);
                Ok(if gpu_seconds > 0.0 {
                    gpu_seconds
                } else {
                    host_seconds
                })
            }
            None => Ok(host_seconds),
        }
    }

    /// Maps a readback buffer and returns its bytes.
    pub fn read(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |outcome| {
            let _ = sender.send(outcome);
        });
        self.wait()?;
        match receiver.recv() {
            Ok(Ok(())) => {}
            _ => return Err(self.error("cannot map a readback buffer")),
        }
        let bytes = buffer
            .get_mapped_range(..)
            .map_err(|e| self.error(format!("cannot read a mapped buffer: {e}")))?
            .to_vec();
        buffer.unmap();
        Ok(bytes)
    }

    /// Blocks until the queue is idle, then reports any error the device
    /// raised meanwhile. Never waits for ever: a submission still running
    /// after the kernel timeout, or a lost device, is [`Error::GpuLost`].
    fn wait(&self) -> Result<()> {
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(self.kernel_timeout),
        });
        if let Some(message) = self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(self.lost_error(message));
        }
        match polled {
            Ok(_) => {}
            Err(wgpu::PollError::Timeout) => {
                return Err(self.lost_error(format!(
                    "the GPU did not finish in {} s (--kernel-timeout)",
                    self.kernel_timeout.as_secs_f64()
                )));
            }
            Err(e) => return Err(self.error(format!("waiting for the GPU failed: {e}"))),
        }
        let mut slot = self.uncaptured.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some(message) => Err(self.error(message)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiler_panic_becomes_its_message_and_is_flagged_while_it_runs() {
        let caught = catch_compiler_panic(|| -> u32 {
            assert!(compiler_panic_is_caught());
            panic!("Expression [67] is not cached!\nmore");
        });
        assert_eq!(caught, Err("Expression [67] is not cached!".to_string()));
        assert!(!compiler_panic_is_caught());
        assert_eq!(catch_compiler_panic(|| 7), Ok(7));
    }
}
