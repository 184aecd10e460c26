//! Statements whose best plan depends on a parameter's value. diesel keeps prepared statements,
//! and after five executions PostgreSQL may settle on a generic plan that cannot see the value:
//! for `search_text LIKE $1` it assumes a fixed selectivity, walks the sort order, and a search
//! that matches nothing reads every row (0.5 s at a million clients). Wrapping the condition in
//! `custom_plan` makes diesel send the statement unprepared, so each search is planned for its
//! own text (a fraction of a millisecond) and picks the trigram index or the sort order as the
//! text calls for.

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

#[derive(Debug, Clone, Copy)]
pub struct CustomPlan<T>(T);

/// The condition, in a statement planned afresh on every execution.
pub fn custom_plan<T>(condition: T) -> CustomPlan<T> {
    CustomPlan(condition)
}

impl<T: Expression> Expression for CustomPlan<T> {
    type SqlType = T::SqlType;
}

impl<T: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for CustomPlan<T> where Self: Expression {}

impl<T: ValidGrouping<GB>, GB> ValidGrouping<GB> for CustomPlan<T> {
    type IsAggregate = T::IsAggregate;
}

impl<T> QueryId for CustomPlan<T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T: QueryFragment<Pg>> QueryFragment<Pg> for CustomPlan<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        self.0.walk_ast(out)
    }
}
