//! Opening a GPU: which adapter to use and the device made on it.
//!
//! Kept apart from the drawing so the choice is in one place: hardware
//! first, a software rasteriser (lavapipe, llvmpipe) when there is none or
//! when asked for (reproducible pictures in tests and CI), and the device's
//! limits kept to what every backend offers (WebGL2 downlevel), so a wall
//! that draws on one machine draws on any.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::super::RenderError;

/// Which adapters to consider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// Hardware first; a software renderer (lavapipe, llvmpipe) only when no
    /// GPU is found.
    #[default]
    PreferHardware,
    /// Software only: reproducible pictures in tests and CI.
    Software,
}

impl AdapterChoice {
    /// `SCANWALL_SOFTWARE_GPU=1` forces software rendering (for reproducible
    /// snapshots); otherwise hardware is preferred.
    pub fn from_env() -> Self {
        match std::env::var("SCANWALL_SOFTWARE_GPU") {
            Ok(v) if !v.is_empty() && v != "0" => AdapterChoice::Software,
            _ => AdapterChoice::PreferHardware,
        }
    }
}

/// An open GPU device and what it came from. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gpu {
    /// The instance (needed to recreate a lost window surface).
    pub instance: wgpu::Instance,
    /// The chosen adapter.
    pub adapter: wgpu::Adapter,
    /// The device everything is created on.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    lost: Arc<AtomicBool>,
}

/// The features GPU timestamps need, queries written between command buffers
/// included (see [`Gpu::headless_with_timestamps`]).
pub const TIMESTAMPS: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);

/// Backends to try: all this platform has, or `WGPU_BACKEND` (e.g. `gl`).
fn backends() -> wgpu::Backends {
    wgpu::Backends::all().with_env()
}

/// Rank of an adapter type: lower is preferred.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (kind, backend)
}

impl Gpu {
    /// A device for offscreen rendering, no window or display needed.
    pub fn headless(choice: AdapterChoice) -> Result<Gpu, RenderError> {
        Self::headless_with(choice, wgpu::Features::empty())
    }

    /// [`Gpu::headless`] with GPU timestamps (queries, also between command
    /// buffers) where the adapter has them: the render benchmark reads the
    /// GPU's own time per frame from them, which wall-clock time hides
    /// behind submission and waiting. Without them the device has neither.
    pub fn headless_with_timestamps(choice: AdapterChoice) -> Result<Gpu, RenderError> {
        Self::headless_with(choice, TIMESTAMPS)
    }

    /// A headless device with the `optional` features the adapter has.
    fn headless_with(choice: AdapterChoice, optional: wgpu::Features) -> Result<Gpu, RenderError> {
        let desc = wgpu::InstanceDescriptor {
            backends: backends(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        };
        let instance = wgpu::Instance::new(desc.with_env());
        Self::open(instance, None, choice, optional)
    }

    /// [`Gpu::headless`] on the given backends only, ignoring `WGPU_BACKEND`
    /// (tests render on Vulkan and on GL, whose traps differ).
    pub fn headless_on(backends: wgpu::Backends, choice: AdapterChoice) -> Result<Gpu, RenderError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        Self::open(instance, None, choice, wgpu::Features::empty())
    }

    /// A device that can present to `surface`, created on `instance` (which,
    /// for GL, must have been given the display handle).
    pub fn for_surface(
        instance: wgpu::Instance,
        surface: &wgpu::Surface<'_>,
        choice: AdapterChoice,
    ) -> Result<Gpu, RenderError> {
        Self::open(instance, Some(surface), choice, wgpu::Features::empty())
    }

    /// Instance options for a window: all backends (or `WGPU_BACKEND`), with
    /// the display handle GL needs to find an adapter for the surface.
    pub fn window_instance_descriptor(
        display: Box<dyn wgpu::wgt::WgpuHasDisplayHandle>,
    ) -> wgpu::InstanceDescriptor {
        let desc = wgpu::InstanceDescriptor {
            backends: backends(),
            ..wgpu::InstanceDescriptor::new_with_display_handle(display)
        };
        desc.with_env()
    }

    fn open(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
        choice: AdapterChoice,
        optional: wgpu::Features,
    ) -> Result<Gpu, RenderError> {
        let adapter = pollster::block_on(pick_adapter(&instance, surface, choice))?;
        let features = optional & adapter.features();
        let limits = wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter.limits());
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("scanwall"),
            required_features: features,
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::default(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
        }))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::SeqCst));
        Ok(Gpu {
            instance,
            adapter,
            device,
            queue,
            lost,
        })
    }

    /// Whether the device was lost (driver reset, GPU removed): the owner
    /// should open a new [`Gpu`] and renderer.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The adapter, as a person names it (e.g. "llvmpipe (LLVM 15.0.6) on Vulkan").
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!("{} ({:?}) on {:?}", info.name, info.device_type, info.backend)
    }
}

async fn pick_adapter(
    instance: &wgpu::Instance,
    surface: Option<&wgpu::Surface<'_>>,
    choice: AdapterChoice,
) -> Result<wgpu::Adapter, RenderError> {
    let mut seen = Vec::new();
    let mut candidates = Vec::new();
    for adapter in instance.enumerate_adapters(wgpu::Backends::all()).await {
        let info = adapter.get_info();
        seen.push(format!(
            "{} ({:?}, {:?})",
            info.name, info.device_type, info.backend
        ));
        if surface.is_some_and(|s| !adapter.is_surface_supported(s)) {
            continue;
        }
        if choice == AdapterChoice::Software && info.device_type != wgpu::DeviceType::Cpu {
            continue;
        }
        candidates.push(adapter);
    }
    candidates.sort_by_key(|a| rank(&a.get_info()));
    if let Some(best) = candidates.into_iter().next() {
        return Ok(best);
    }
    // Some platforms only expose their software adapter through the fallback request.
    let fallback = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: true,
            compatible_surface: surface,
            apply_limit_buckets: false,
        })
        .await;
    fallback.map_err(|e| {
        let seen = if seen.is_empty() {
            "none at all".to_owned()
        } else {
            format!("unsuitable: {}", seen.join("; "))
        };
        RenderError::NoAdapter(format!("{seen}; fallback request: {e}"))
    })
}
