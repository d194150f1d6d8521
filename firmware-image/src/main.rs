//! Minimal embedded image: the ESI coordinator (`firmware::coordinator`) on a Cortex-M4F
//! (nRF52840-class, `thumbv7em-none-eabihf`) with a stub radio, a stub UART and a stub clock.
//!
//! It exists to prove that the coordinator builds and links for a microcontroller without an
//! allocator, and to measure its flash and RAM (`size.sh`). The stubs hide their data behind
//! `core::hint::black_box`, so the optimiser keeps every path of the coordinator as it would
//! with a real driver. `docs/firmware.md` §5 says what a real port replaces them with.

#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use firmware::coordinator::{
    ApsHandle, ApsIndication, ApsSecurity, ApsStatus, Coordinator, CoordinatorConfig, Instant,
    JoinDecision, Metrology, RadioAction,
};
use firmware::esi::MeterStatus;
use firmware::host_link::MAX_WIRE_LEN;
use panic_halt as _;
use static_cell::StaticCell;
use zse::zcl::{ClusterId, Eui64, SE_PROFILE_ID};

/// 16 device slots, 8 DR events, 5 prices: the configuration the RAM budget is measured for.
type Image = Coordinator<16, 8, 5, StubMetrology>;

/// The coordinator lives in `.bss`, not on the stack: `StaticCell` hands out the one
/// `&'static mut` to it, without `unsafe`.
static COORDINATOR: StaticCell<Image> = StaticCell::new();

/// This ESI's EUI-64 (a real port reads it from the chip's factory information).
const ESI_EUI64: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);

/// The meter's measuring front end; here a counter.
#[derive(Debug, Default)]
struct StubMetrology {
    wh: u64,
}

impl Metrology for StubMetrology {
    fn current_summation_delivered(&mut self) -> Option<u64> {
        self.wh = self.wh.wrapping_add(black_box(1));
        Some(self.wh)
    }
    fn status(&mut self) -> Option<MeterStatus> {
        Some(MeterStatus(black_box(0)))
    }
}

/// Stands in for the 802.15.4 radio and the ZigBee stack's APS data service and trust centre.
#[derive(Debug)]
struct StubRadio {
    /// The confirm the "stack" owes for the last frame sent.
    confirm: Option<ApsHandle>,
    rx: [u8; 127],
}

// The stubs keep the shape of a driver API even where they need no state.
#[allow(clippy::unused_self)]
impl StubRadio {
    fn execute(&mut self, action: &RadioAction) {
        match action {
            RadioAction::SendAps(frame) => {
                black_box(&frame.payload);
                self.confirm = Some(frame.handle);
            }
            RadioAction::Leave { .. }
            | RadioAction::InstallKey { .. }
            | RadioAction::EraseKey { .. } => {
                black_box(action);
            }
        }
    }

    /// A received APS frame, if any.
    fn receive(&mut self) -> Option<ApsIndication<'_>> {
        let len = black_box(0usize).min(self.rx.len());
        let payload = self.rx.get(..len).filter(|p| !p.is_empty())?;
        Some(ApsIndication {
            src_short: black_box(0x1001),
            src_eui64: Some(Eui64(black_box(1))),
            src_endpoint: 1,
            dst_endpoint: 1,
            cluster: ClusterId(black_box(0x0700)),
            profile: SE_PROFILE_ID,
            security: ApsSecurity::LinkKey,
            broadcast: false,
            lqi: Some(200),
            payload: black_box(payload),
        })
    }

    /// A device asking to join, if any: (EUI-64, short address).
    fn join_request(&mut self) -> Option<(Eui64, u16)> {
        black_box(None)
    }
}

/// Stands in for the UART to the gateway.
#[derive(Debug)]
struct StubUart;

#[allow(clippy::unused_self)]
impl StubUart {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        black_box(&mut *buf);
        black_box(0usize).min(buf.len())
    }
    fn write(&mut self, bytes: &[u8]) {
        black_box(bytes);
    }
}

#[entry]
fn main() -> ! {
    let mut config = CoordinatorConfig::new(ESI_EUI64, black_box(0x5EED_0001));
    config.esi.meter_poll_ms = 1_000;
    let coordinator = COORDINATOR.init_with(|| Coordinator::new(config, StubMetrology::default()));
    let mut radio = StubRadio { confirm: None, rx: [0; 127] };
    let mut uart = StubUart;
    let mut rx = [0u8; 64];
    let mut tx = [0u8; MAX_WIRE_LEN];
    let mut now: u64 = 0;
    loop {
        // A real port takes this from a timer (RTC / SysTick) and sleeps until
        // `poll_timeout()` or an interrupt.
        now = now.wrapping_add(black_box(1));
        let n = uart.read(&mut rx);
        if n > 0 {
            coordinator.handle_serial_bytes(now, rx.get(..n).unwrap_or_default());
        }
        if let Some(ind) = radio.receive() {
            coordinator.handle_aps_indication(now, ind);
        }
        if let Some((eui64, short)) = radio.join_request() {
            if let JoinDecision::Accept { link_key } =
                coordinator.handle_join_request(now, eui64, short)
            {
                black_box(link_key.expose());
            }
        }
        if let Some(handle) = radio.confirm.take() {
            coordinator.handle_aps_confirm(now, handle, ApsStatus(black_box(0)));
        }
        if coordinator.poll_timeout().is_some_and(|t: Instant| t.as_millis() <= now) {
            coordinator.handle_timeout(now);
        }
        // Drain both outputs until both are idle.
        loop {
            let mut idle = true;
            while let Some(action) = coordinator.poll_radio() {
                radio.execute(&action);
                idle = false;
            }
            while let Some(n) = coordinator.poll_serial_transmit(&mut tx) {
                uart.write(tx.get(..n).unwrap_or_default());
                idle = false;
            }
            if idle {
                break;
            }
        }
    }
}
