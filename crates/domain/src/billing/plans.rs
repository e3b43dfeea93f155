//! The plan catalog: what each plan grants and costs. A built-in default
//! (free, pro, team) that a TOML file named by `PLANS_FILE` replaces.
//!
//! Everything in it is checked once, at start-up: plan ids, prices and
//! their currencies, the Stripe prices laid over them, and each plan's
//! limits, which name metered resources (`projects = 50`) that the slices
//! declare. Afterwards a plan id read from a grant or a subscription either
//! names a plan of the catalog or is reported, once, as the error it is.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Arc, Mutex},
};

use serde::Deserialize;

use crate::{
    access::Feature,
    config::{ConfigError, PlanSettings},
};

/// A plan's id, as the catalog and Stripe prices name it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, sea_orm::DeriveValueType,
)]
#[serde(transparent)]
pub struct PlanId(String);

impl PlanId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PlanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something a plan limits per organization, counted as it changes: its
/// key names it in a plan's `limits` and in `Entitlements.usage`. Each slice
/// declares its own (`projects::PROJECTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Metered(&'static str);

impl Metered {
    pub const fn new(key: &'static str) -> Self {
        Self(key)
    }

    pub const fn key(self) -> &'static str {
        self.0
    }

    /// The counter its usage is kept in.
    pub const fn counter(self) -> crate::counters::Counter {
        crate::counters::Counter(self.0)
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Deserialize,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BillingInterval {
    #[sea_orm(string_value = "month")]
    Month,
    #[sea_orm(string_value = "year")]
    Year,
}

impl BillingInterval {
    pub const ALL: [Self; 2] = [Self::Month, Self::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

/// An ISO 4217 currency code, lower-case as Stripe writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, String> {
        let code = code.trim().to_ascii_lowercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(code))
        } else {
            Err(format!(
                "{code:?} is not a currency code (three letters, like usd)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount of money: a whole number of the currency's smallest unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor_units: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone)]
pub struct Price {
    pub interval: BillingInterval,
    pub amount: Money,
    /// Charged per member (the subscription's quantity follows them).
    pub per_seat: bool,
    /// The Stripe price this corresponds to; a plan without one cannot be bought.
    pub stripe_price_id: Option<String>,
}

/// A price as the catalog file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    interval: BillingInterval,
    /// In the currency's smallest unit.
    amount: i64,
    currency: String,
    #[serde(default)]
    per_seat: bool,
    #[serde(default)]
    stripe_price_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: PlanId,
    pub name: String,
    pub features: Vec<Feature>,
    /// Metered key to the most an organization may have; a key that is not
    /// here is unlimited.
    pub limits: BTreeMap<String, u64>,
    pub prices: Vec<Price>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    id: PlanId,
    name: String,
    #[serde(default)]
    features: Vec<Feature>,
    #[serde(default)]
    limits: BTreeMap<String, u64>,
    #[serde(default)]
    prices: Vec<PriceFile>,
}

impl Plan {
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    /// The limit on `metered`, or None for unlimited.
    pub fn limit(&self, metered: Metered) -> Option<u64> {
        self.limits.get(metered.key()).copied()
    }

    pub fn price(&self, interval: BillingInterval) -> Option<&Price> {
        self.prices.iter().find(|p| p.interval == interval)
    }

    pub fn per_seat(&self) -> bool {
        self.prices.iter().any(|p| p.per_seat)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    free_plan: PlanId,
    plans: Vec<PlanFile>,
}

#[derive(Debug)]
pub struct PlanCatalog {
    /// The plan of every organization without a paid subscription or grant.
    free_plan: PlanId,
    /// Shared, so a request can hold a plan as long as it needs.
    plans: Vec<Arc<Plan>>,
    /// Plan ids found in the database that the catalog lacks, each
    /// reported once.
    reported: Mutex<HashSet<PlanId>>,
}

/// The built-in catalog, in the file's own format.
const DEFAULT_CATALOG: &str = r#"
free_plan = "free"

[[plans]]
id = "free"
name = "Free"
limits = { projects = 3, members = 3 }

[[plans]]
id = "pro"
name = "Pro"
features = ["AUDIT_LOG"]
limits = { projects = 50, members = 10 }
prices = [
  { interval = "month", amount = 2900, currency = "usd" },
  { interval = "year", amount = 29000, currency = "usd" },
]

[[plans]]
id = "team"
name = "Team"
features = ["AUDIT_LOG"]
prices = [
  { interval = "month", amount = 1200, currency = "usd", per_seat = true },
  { interval = "year", amount = 12000, currency = "usd", per_seat = true },
]
"#;

impl PlanCatalog {
    /// The catalog of `PLANS_FILE` (or the built-in one), with the Stripe
    /// price ids of `STRIPE_PRICE_<PLAN>_<MONTH|YEAR>` laid over it;
    /// `metered` are the resources a limit may name.
    pub fn from_settings(
        settings: &PlanSettings,
        metered: &[Metered],
    ) -> Result<Self, ConfigError> {
        let (var, source, text) = match &settings.file {
            None => ("PLANS_FILE", "the built-in catalog", DEFAULT_CATALOG),
            Some(file) => ("PLANS_FILE", file.path.as_str(), file.text.as_str()),
        };
        let bad = |var: &str, problem: String| ConfigError {
            var: var.to_owned(),
            problem,
        };
        let (free_plan, mut plans) =
            Self::read(text, metered).map_err(|p| bad(var, format!("{source}: {p}")))?;
        for (var, id) in &settings.stripe_prices {
            let price = Self::price_named_by(&mut plans, var).ok_or_else(|| {
                bad(
                    var,
                    "names no price of the plan catalog (STRIPE_PRICE_<PLAN>_<MONTH|YEAR>)".into(),
                )
            })?;
            price.stripe_price_id = Some(id.clone());
        }
        Self::new(free_plan, plans).map_err(|p| bad(var, format!("{source}: {p}")))
    }

    /// The price a `STRIPE_PRICE_<PLAN>_<INTERVAL>` variable names.
    fn price_named_by<'a>(plans: &'a mut [Plan], var: &str) -> Option<&'a mut Price> {
        let rest = var.strip_prefix("STRIPE_PRICE_")?;
        plans.iter_mut().find_map(|plan| {
            let prefix = plan.id.as_str().to_ascii_uppercase().replace('-', "_");
            let interval = rest.strip_prefix(&prefix)?.strip_prefix('_')?;
            plan.prices
                .iter_mut()
                .find(|p| p.interval.as_str().eq_ignore_ascii_case(interval))
        })
    }

    /// Reads and checks a catalog file.
    pub fn from_toml(text: &str, metered: &[Metered]) -> Result<Self, String> {
        let (free_plan, plans) = Self::read(text, metered)?;
        Self::new(free_plan, plans)
    }

    fn read(text: &str, metered: &[Metered]) -> Result<(PlanId, Vec<Plan>), String> {
        let file: CatalogFile =
            toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))?;
        let mut plans = Vec::with_capacity(file.plans.len());
        for plan in file.plans {
            plans.push(Self::plan(plan, metered)?);
        }
        Ok((file.free_plan, plans))
    }

    fn new(free_plan: PlanId, plans: Vec<Plan>) -> Result<Self, String> {
        let catalog = Self {
            free_plan,
            plans: plans.into_iter().map(Arc::new).collect(),
            reported: Mutex::default(),
        };
        catalog.check()?;
        Ok(catalog)
    }

    fn plan(plan: PlanFile, metered: &[Metered]) -> Result<Plan, String> {
        for key in plan.limits.keys() {
            if !metered.iter().any(|m| m.key() == key) {
                let known: Vec<&str> = metered.iter().map(|m| m.key()).collect();
                return Err(format!(
                    "plan {:?} limits {key:?}, which nothing is counted as (known: {})",
                    plan.id.as_str(),
                    known.join(", ")
                ));
            }
        }
        let mut prices = Vec::with_capacity(plan.prices.len());
        for price in plan.prices {
            if price.amount < 0 {
                return Err(format!("plan {:?} has a negative price", plan.id.as_str()));
            }
            let currency = Currency::parse(&price.currency)
                .map_err(|e| format!("plan {:?}: {e}", plan.id.as_str()))?;
            prices.push(Price {
                interval: price.interval,
                amount: Money {
                    minor_units: price.amount,
                    currency,
                },
                per_seat: price.per_seat,
                stripe_price_id: price.stripe_price_id,
            });
        }
        Ok(Plan {
            id: plan.id,
            name: plan.name,
            features: plan.features,
            limits: plan.limits,
            prices,
        })
    }

    fn check(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        for plan in &self.plans {
            let id = plan.id.as_str();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(format!(
                    "plan id {id:?}: use lower-case letters, digits and hyphens"
                ));
            }
            if !ids.insert(id) {
                return Err(format!("plan {id:?} appears twice"));
            }
            let mut intervals = HashSet::new();
            for price in &plan.prices {
                if !intervals.insert(price.interval) {
                    return Err(format!(
                        "plan {id:?} has two {} prices",
                        price.interval.as_str()
                    ));
                }
            }
        }
        if !ids.contains(self.free_plan.as_str()) {
            return Err(format!(
                "free_plan {:?} is not among the plans",
                self.free_plan.as_str()
            ));
        }
        Ok(())
    }

    pub fn plans(&self) -> &[Arc<Plan>] {
        &self.plans
    }

    pub fn get(&self, id: &PlanId) -> Option<&Arc<Plan>> {
        self.plans.iter().find(|p| p.id == *id)
    }

    /// A plan by the id a client typed.
    pub fn find(&self, id: &str) -> Option<&Arc<Plan>> {
        self.plans.iter().find(|p| p.id.as_str() == id)
    }

    pub fn free(&self) -> &Arc<Plan> {
        self.get(&self.free_plan)
            .expect("checked: the free plan exists")
    }

    pub fn free_plan(&self) -> &PlanId {
        &self.free_plan
    }

    /// The plan a grant or a subscription names. One the catalog lacks (a
    /// plan removed from `PLANS_FILE` while organizations still have it)
    /// gives the free plan, and is logged as the error it is, once per id.
    pub fn resolve(&self, id: &PlanId) -> &Arc<Plan> {
        if let Some(plan) = self.get(id) {
            return plan;
        }
        let first = self
            .reported
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        if first {
            tracing::error!(
                plan = %id,
                "a grant or subscription names a plan the catalog does not have; \
                 those organizations get the free plan until PLANS_FILE has it again"
            );
        }
        self.free()
    }

    /// The plan and interval a Stripe price id stands for.
    pub fn by_stripe_price(&self, price_id: &str) -> Option<(&Arc<Plan>, BillingInterval)> {
        self.plans.iter().find_map(|plan| {
            plan.prices
                .iter()
                .find(|p| p.stripe_price_id.as_deref() == Some(price_id))
                .map(|p| (plan, p.interval))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METERED: [Metered; 2] = [Metered::new("projects"), Metered::new("members")];
    const PROJECTS: Metered = METERED[0];
    const MEMBERS: Metered = METERED[1];

    fn default_catalog() -> PlanCatalog {
        PlanCatalog::from_settings(&PlanSettings::default(), &METERED).unwrap()
    }

    #[test]
    fn the_default_catalog_is_free_pro_team() {
        let c = default_catalog();
        assert_eq!(c.free().limit(PROJECTS), Some(3));
        assert_eq!(c.free().limit(MEMBERS), Some(3));
        assert!(!c.free().has(Feature::AuditLog));
        let pro = c.find("pro").unwrap();
        assert_eq!(
            (pro.limit(PROJECTS), pro.limit(MEMBERS)),
            (Some(50), Some(10))
        );
        assert!(pro.has(Feature::AuditLog));
        assert_eq!(pro.prices[0].amount.currency.as_str(), "usd");
        let team = c.find("team").unwrap();
        assert_eq!((team.limit(PROJECTS), team.limit(MEMBERS)), (None, None));
        assert!(team.per_seat());
    }

    #[test]
    fn a_catalog_file_replaces_the_default() {
        let c = PlanCatalog::from_toml(
            r#"
            free_plan = "hobby"
            [[plans]]
            id = "hobby"
            name = "Hobby"
            limits = { projects = 1, members = 1 }
            [[plans]]
            id = "business"
            name = "Business"
            features = ["AUDIT_LOG"]
            [[plans.prices]]
            interval = "month"
            amount = 9900
            currency = "EUR"
            stripe_price_id = "price_business_month"
            "#,
            &METERED,
        )
        .unwrap();
        assert_eq!(c.free().id.as_str(), "hobby");
        let (plan, interval) = c.by_stripe_price("price_business_month").unwrap();
        assert_eq!(
            (plan.id.as_str(), interval),
            ("business", BillingInterval::Month)
        );
        assert!(plan.has(Feature::AuditLog));
        assert_eq!(plan.prices[0].amount.currency.as_str(), "eur");
    }

    #[test]
    fn bad_catalogs_are_refused() {
        for bad in [
            "free_plan = \"x\"\nplans = []",
            "free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\nfeatures=[\"TELEPORT\"]",
            "free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\n[[plans]]\nid=\"a\"\nname=\"B\"",
            "free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\nlimits = { projets = 3 }",
            "free_plan = \"A\"\n[[plans]]\nid=\"A\"\nname=\"A\"",
            "free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\nprices = [{ interval = \"month\", amount = 1, currency = \"dollars\" }]",
            "free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\nprices = [{ interval = \"month\", amount = -1, currency = \"usd\" }]",
        ] {
            assert!(PlanCatalog::from_toml(bad, &METERED).is_err(), "{bad}");
        }
    }

    #[test]
    fn stripe_prices_must_name_a_price_of_the_catalog() {
        let settings = |var: &str| PlanSettings {
            file: None,
            stripe_prices: vec![(var.to_owned(), "price_x".to_owned())],
        };
        let c = PlanCatalog::from_settings(&settings("STRIPE_PRICE_PRO_YEAR"), &METERED).unwrap();
        assert_eq!(c.by_stripe_price("price_x").unwrap().0.id.as_str(), "pro");
        for typo in [
            "STRIPE_PRICE_PRO_WEEK",
            "STRIPE_PRICE_ENTERPRISE_MONTH",
            "STRIPE_PRICE_FREE_MONTH",
        ] {
            let e = PlanCatalog::from_settings(&settings(typo), &METERED).unwrap_err();
            assert_eq!(e.var, typo);
        }
    }

    #[test]
    fn an_unknown_plan_resolves_to_free_and_is_reported_once() {
        let c = default_catalog();
        let gone = PlanId::new("enterprise");
        assert_eq!(c.resolve(&gone).id.as_str(), "free");
        assert_eq!(c.resolve(&gone).id.as_str(), "free");
        assert_eq!(c.reported.lock().unwrap().len(), 1);
        assert_eq!(c.resolve(&PlanId::new("pro")).id.as_str(), "pro");
    }
}
