//! Kernel timing from GPU timestamp queries.

pub use crate::results::TimingMethod;

/// A two-entry timestamp query set with its resolve and readback buffers.
pub(super) struct TimestampQueries {
    set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Nanoseconds per timestamp tick (the queue's timestamp period).
    period_ns: f64,
}

const QUERY_BYTES: u64 = 2 * std::mem::size_of::<u64>() as u64;

impl TimestampQueries {
    pub(super) fn new(device: &wgpu::Device, period_ns: f32) -> Self {
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: QUERY_BYTES,
                usage,
                mapped_at_creation: false,
            })
        };
        TimestampQueries {
            set,
            resolved: buffer(
                "timestamps resolved",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "timestamps readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period_ns: f64::from(period_ns),
        }
    }

    /// Timestamps at the beginning and end of a compute pass.
    pub(super) fn pass_writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Queues the resolve of both timestamps into the readback buffer.
    pub(super) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.set, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readback, 0, QUERY_BYTES);
    }

    pub(super) fn readback(&self) -> &wgpu::Buffer {
        &self.readback
    }

    /// Seconds between the two timestamps in `bytes` (the readback's content).
    pub(super) fn seconds(&self, bytes: &[u8]) -> f64 {
        let ticks: [u64; 2] = bytemuck::pod_read_unaligned(&bytes[..QUERY_BYTES as usize]);
        ticks_to_seconds(ticks, self.period_ns)
    }
}

/// Converts a begin/end pair of timestamp ticks to seconds. A counter that
/// ran backwards (it can on some drivers) gives zero, never a negative time.
fn ticks_to_seconds([begin, end]: [u64; 2], period_ns: f64) -> f64 {
    end.saturating_sub(begin) as f64 * period_ns * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_with_the_period() {
        assert_eq!(ticks_to_seconds([100, 1_000_100], 1.0), 1e-3);
        assert!((ticks_to_seconds([0, 1000], 2.5) - 2.5e-6).abs() < 1e-18);
        assert_eq!(ticks_to_seconds([10, 5], 1.0), 0.0);
    }
}
