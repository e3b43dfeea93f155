//! The plan catalog: what each plan grants and costs. A built-in default
//! (free, pro, team) that a TOML file named by `PLANS_FILE` replaces.

use serde::Deserialize;

use crate::{
    access::Feature,
    config::{ConfigError, PlanSettings},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingInterval {
    Month,
    Year,
}

impl BillingInterval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub interval: BillingInterval,
    /// In the currency's smallest unit.
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub per_seat: bool,
    /// The Stripe price this corresponds to; a plan without one cannot be bought.
    #[serde(default)]
    pub stripe_price_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub features: Vec<Feature>,
    /// None: unlimited.
    #[serde(default)]
    pub max_projects: Option<u32>,
    /// Members plus pending invitations; None: unlimited.
    #[serde(default)]
    pub max_members: Option<u32>,
    #[serde(default)]
    pub prices: Vec<Price>,
}

impl Plan {
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    pub fn price(&self, interval: BillingInterval) -> Option<&Price> {
        self.prices.iter().find(|p| p.interval == interval)
    }

    pub fn per_seat(&self) -> bool {
        self.prices.iter().any(|p| p.per_seat)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCatalog {
    /// The plan of every organization without a paid subscription or grant.
    pub free_plan: String,
    pub plans: Vec<Plan>,
}

impl Default for PlanCatalog {
    fn default() -> Self {
        let price = |interval, amount, per_seat| Price {
            interval,
            amount,
            currency: "usd".into(),
            per_seat,
            stripe_price_id: None,
        };
        Self {
            free_plan: "free".into(),
            plans: vec![
                Plan {
                    id: "free".into(),
                    name: "Free".into(),
                    features: vec![],
                    max_projects: Some(3),
                    max_members: Some(3),
                    prices: vec![],
                },
                Plan {
                    id: "pro".into(),
                    name: "Pro".into(),
                    features: vec![Feature::AuditLog],
                    max_projects: Some(50),
                    max_members: Some(10),
                    prices: vec![
                        price(BillingInterval::Month, 2900, false),
                        price(BillingInterval::Year, 29000, false),
                    ],
                },
                Plan {
                    id: "team".into(),
                    name: "Team".into(),
                    features: vec![Feature::AuditLog],
                    max_projects: None,
                    max_members: None,
                    prices: vec![
                        price(BillingInterval::Month, 1200, true),
                        price(BillingInterval::Year, 12000, true),
                    ],
                },
            ],
        }
    }
}

impl PlanCatalog {
    /// The catalog of `PLANS_FILE` (or the built-in one), with the Stripe
    /// price ids of `STRIPE_PRICE_<PLAN>_<MONTH|YEAR>` laid over it.
    pub fn from_settings(settings: &PlanSettings) -> Result<Self, ConfigError> {
        let mut catalog = match &settings.file {
            None => Self::default(),
            Some(file) => Self::from_toml(&file.text).map_err(|problem| ConfigError {
                var: "PLANS_FILE".into(),
                problem: format!("{}: {problem}", file.path),
            })?,
        };
        for plan in &mut catalog.plans {
            for price in &mut plan.prices {
                let var = format!(
                    "STRIPE_PRICE_{}_{}",
                    plan.id.to_ascii_uppercase().replace('-', "_"),
                    price.interval.as_str().to_ascii_uppercase()
                );
                if let Some((_, id)) = settings.stripe_prices.iter().find(|(k, _)| *k == var) {
                    price.stripe_price_id = Some(id.clone());
                }
            }
        }
        Ok(catalog)
    }

    /// Reads and checks a catalog file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let catalog: Self = toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))?;
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        for plan in &self.plans {
            if !ids.insert(plan.id.as_str()) {
                return Err(format!("plan {:?} appears twice", plan.id));
            }
            let mut intervals = std::collections::HashSet::new();
            for price in &plan.prices {
                if !intervals.insert(price.interval) {
                    return Err(format!(
                        "plan {:?} has two {} prices",
                        plan.id,
                        price.interval.as_str()
                    ));
                }
                if price.amount < 0 {
                    return Err(format!("plan {:?} has a negative price", plan.id));
                }
            }
        }
        if !ids.contains(self.free_plan.as_str()) {
            return Err(format!(
                "free_plan {:?} is not among the plans",
                self.free_plan
            ));
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub fn free(&self) -> &Plan {
        self.get(&self.free_plan)
            .expect("checked: the free plan exists")
    }

    /// The plan and interval a Stripe price id stands for.
    pub fn by_stripe_price(&self, price_id: &str) -> Option<(&Plan, BillingInterval)> {
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

    #[test]
    fn the_default_catalog_is_free_pro_team() {
        let c = PlanCatalog::default();
        c.check().unwrap();
        assert_eq!(c.free().max_projects, Some(3));
        assert_eq!(c.free().max_members, Some(3));
        assert!(!c.free().has(Feature::AuditLog));
        let pro = c.get("pro").unwrap();
        assert_eq!((pro.max_projects, pro.max_members), (Some(50), Some(10)));
        assert!(pro.has(Feature::AuditLog));
        let team = c.get("team").unwrap();
        assert_eq!((team.max_projects, team.max_members), (None, None));
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
            max_projects = 1
            max_members = 1
            [[plans]]
            id = "business"
            name = "Business"
            features = ["AUDIT_LOG"]
            [[plans.prices]]
            interval = "month"
            amount = 9900
            currency = "eur"
            stripe_price_id = "price_business_month"
            "#,
        )
        .unwrap();
        assert_eq!(c.free().id, "hobby");
        let (plan, interval) = c.by_stripe_price("price_business_month").unwrap();
        assert_eq!(
            (plan.id.as_str(), interval),
            ("business", BillingInterval::Month)
        );
        assert!(plan.has(Feature::AuditLog));
    }

    #[test]
    fn bad_catalogs_are_refused() {
        assert!(PlanCatalog::from_toml("free_plan = \"x\"\nplans = []").is_err());
        assert!(
            PlanCatalog::from_toml(
                "free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\nfeatures=[\"TELEPORT\"]"
            )
            .is_err()
        );
        assert!(PlanCatalog::from_toml("free_plan = \"a\"\n[[plans]]\nid=\"a\"\nname=\"A\"\n[[plans]]\nid=\"a\"\nname=\"B\"").is_err());
    }
}
