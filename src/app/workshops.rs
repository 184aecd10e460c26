//! Workshops with limited seats. Every seat is a row (`workshop_seats`), created with the
//! workshop and added or removed with its capacity; enrolling claims one (`enrollments`).
//! Capacity changes lock the workshop and add or remove free seats only.

use super::constraints::{conflict, gone, invalid, length, out_of_range, Meaning, Rule};
use super::idempotency::recovery_point;
use super::{clock, cursor_position, delete_row, AppError, AppResult, AppState, Found};
use crate::domain::ids::{Located, WorkshopId};
use crate::domain::page::{encode_cursor, Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::domain::time::Timestamp;
use crate::domain::workshops::{Modality, NewWorkshop, Workshop, WorkshopChanges, WorkshopFilter};
use crate::store::pg::workshops as repo;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("workshops_name_key", conflict("name_taken", Some("name"), "a workshop with this name exists")),
    Rule::Check("workshops_name_check", length("name", 1, 200)),
    Rule::Check("workshops_description_check", length("description", 0, 5000)),
    Rule::Check("workshops_capacity_check", out_of_range("capacity", "must be between 1 and 10000")),
    Rule::Check("workshops_duration_minutes_check", out_of_range("duration_minutes", "must be between 1 and 10080")),
    Rule::Check("workshops_location_check", length("location", 1, 500)),
    Rule::Check("workshops_link_check", length("link", 1, 500)),
    Rule::Check("workshops_cancellation_hours_check", out_of_range("cancellation_hours", "must be between 0 and 720")),
    Rule::Check("workshops_modality_check", invalid("modality", "invalid", "must be in_person or online")),
    Rule::Check("workshops_price_check", out_of_range("price", "must be more than 0 and at most 1000000.00")),
    Rule::Check(
        "workshops_place_matches_modality",
        invalid("location", "required", "in_person workshops need a location, online workshops a link"),
    ),
    Rule::foreign_key(
        "workshops_category_id_fkey",
        invalid("category_id", "unknown_category", "no interest has this id"),
        Some(super::interests::IN_USE),
    ),
    Rule::foreign_key("workshop_seats_workshop_id_fkey", gone("workshop"), None),
    Rule::foreign_key("workshop_seats_enrollment_id_fkey", gone("enrollment"), None),
    Rule::Unique("workshop_seats_enrollment_key", Meaning::Invariant),
];

#[derive(Debug, Serialize, Deserialize)]
struct WorkshopCursor {
    at: Timestamp,
    id: Uuid,
}

fn check_place(modality: Modality, location: Option<&String>, link: Option<&String>) -> AppResult<()> {
    match modality {
        Modality::InPerson if location.is_none() => {
            Err(AppError::invalid("location", "required", "in_person workshops need a location"))
        }
        Modality::Online if link.is_none() => {
            Err(AppError::invalid("link", "required", "online workshops need a link"))
        }
        _ => Ok(()),
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, input: NewWorkshop) -> AppResult<Workshop> {
    check_place(input.modality, input.location.as_ref(), input.link.as_ref())?;
    let now = clock::now();
    if input.starts_at <= now {
        return Err(AppError::invalid("starts_at", "in_the_past", "must be in the future"));
    }
    let workshop = Workshop {
        version: 1,
        id: WorkshopId::new(),
        name: input.name,
        description: input.description,
        category_id: input.category_id,
        starts_at: input.starts_at,
        duration_minutes: input.duration_minutes,
        modality: input.modality,
        location: input.location,
        link: input.link,
        price: input.price,
        capacity: input.capacity,
        seats_taken: 0,
        seats_available: input.capacity,
        cancellation_hours: input.cancellation_hours,
        active: input.active,
        created_at: now,
        updated_at: now,
    };
    let created = workshop.clone();
    state
        .db
        .tx(move |conn| {
            repo::insert(conn, &created)?;
            recovery_point(created.id.path());
            Ok(())
        })
        .await?;
    Ok(workshop)
}

/// The workshop and its seats taken, from one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: WorkshopId) -> AppResult<Workshop> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

/// Workshops by start time, each with its seats taken, from one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, filter: WorkshopFilter, page: PageRequest) -> AppResult<Page<Workshop>> {
    let after = cursor_position::<WorkshopCursor>(&page)?.map(|cursor| (cursor.at.get(), cursor.id));
    let limit = page.overfetch();
    let now = clock::now();
    let rows = state.db.run(move |conn| Ok(repo::list(conn, &filter, after, limit, now)?)).await?;
    Ok(Page::from_overfetch(rows, limit - 1, |w| {
        encode_cursor(&WorkshopCursor { at: Timestamp(w.starts_at), id: w.id.0 })
    }))
}

/// Applies a patch under the workshop's lock. A new capacity adds or removes free seats;
/// removing fewer than needed means more seats are taken than the new capacity (409, and
/// nothing changes). The modality/place rule is a CHECK constraint on the merged row.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: &AppState,
    id: WorkshopId,
    changes: WorkshopChanges,
    precondition: Precondition,
) -> AppResult<Workshop> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let current = repo::lock(conn, id)?.found(id)?;
            precondition.check(&current)?;
            if let Some(capacity) = changes.capacity {
                let change = capacity - current.capacity;
                if change > 0 {
                    repo::add_seats(conn, id, change)?;
                } else if change < 0 && repo::remove_free_seats(conn, id, -change)? < -change {
                    return Err(AppError::conflict(
                        "capacity_below_seats_taken",
                        Some("capacity"),
                        "more seats are already taken than this capacity",
                    ));
                }
            }
            repo::update(conn, id, &changes, now)?;
            repo::find(conn, id)?.found(id)
        })
        .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(state: &AppState, id: WorkshopId, precondition: Precondition) -> AppResult<()> {
    delete_row(state, id, precondition, repo::lock, repo::delete).await
}
