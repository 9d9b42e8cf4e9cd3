//! Transcript commands of the claims: reservations, maintenance windows and the earliest
//! start search.
//!
//! ```text
//! reserve ID infra=I tenant=T profile=P count=N window=START..END
//! update-reservation ID <the same>
//! maintain ID devices=D,… window=START..END [reason=R]
//! update-maintenance ID devices=D,… window=START..END [reason=R]
//! earliest infra=I tenant=T profile=P count=N duration=D not-before=S horizon=H
//! delete reservation|maintenance ID
//! show reservations
//! ```

use super::{Args, Cmd, Layer, Out, id, join};
use horao_model::claims::*;
use horao_model::model::Model;

pub(super) const LAYER: Layer = Layer {
    commands: &[
        "reserve",
        "update-reservation",
        "maintain",
        "update-maintenance",
        "earliest",
    ],
    deletes: &["reservation", "maintenance"],
    queries: &["reservations"],
    run,
    show,
};

fn run(c: Cmd<'_>, cmd: &str, a: &Args<'_>) -> Out {
    match cmd {
        "reserve" => {
            let id: ClaimId = a.id_at(0)?;
            let spec = reservation(a)?;
            c.mutate(|m, by, ts, _, tx| m.create_reservation(by, &id, spec, ts, tx))
        }
        "update-reservation" => {
            let id: ClaimId = a.id_at(0)?;
            let spec = reservation(a)?;
            c.mutate(|m, by, ts, _, tx| m.update_reservation(by, &id, spec, ts, tx))
        }
        "maintain" | "update-maintenance" => {
            let claim: ClaimId = a.id_at(0)?;
            let spec = MaintenanceSpec {
                devices: a
                    .list("devices")
                    .into_iter()
                    .map(id)
                    .collect::<Result<_, _>>()?,
                window: window(a.s("window")?)?,
                reason: a.text("reason").unwrap_or_else(|| "maintenance".into()),
            };
            if cmd == "maintain" {
                c.mutate(|m, by, ts, _, tx| m.create_maintenance(by, &claim, spec, ts, tx))
            } else {
                c.mutate(|m, by, ts, _, tx| m.update_maintenance(by, &claim, spec, ts, tx))
            }
        }
        "earliest" => {
            let req = ReservationRequest {
                infrastructure: a.id("infra")?,
                tenant: a.id("tenant")?,
                profile: a.id("profile")?,
                count: a.n("count")?,
                duration: a.n("duration")?,
                not_before: a.n("not-before")?,
                horizon: a.n("horizon")?,
            };
            match c.model().earliest_start(&req) {
                Ok(s) => Ok(s.map_or("none".into(), |s| s.to_string())),
                Err(e) => Err(e.to_string()),
            }
        }
        "delete" => {
            let x = a.p(1)?;
            match a.p(0)? {
                "reservation" => c.delete(x, Model::delete_reservation),
                _ => c.delete(x, Model::delete_maintenance),
            }
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn show(m: &Model, _: &str, _: &Args<'_>) -> Out {
    Ok(join(m.claims.reservation_specs().map(|(id, _)| id)))
}

fn reservation(a: &Args<'_>) -> Result<ReservationSpec, String> {
    Ok(ReservationSpec {
        infrastructure: a.id("infra")?,
        tenant: a.id("tenant")?,
        profile: a.id("profile")?,
        count: a.n("count")?,
        window: window(a.s("window")?)?,
    })
}

fn window(s: &str) -> Result<Window, String> {
    let (start, end) = s.split_once("..").ok_or("window is START..END")?;
    Ok(Window {
        start: start.parse().map_err(|_| "bad window")?,
        end: end.parse().map_err(|_| "bad window")?,
    })
}
