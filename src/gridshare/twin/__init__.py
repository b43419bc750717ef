"""The digital twin: physics and control of a simulated home, as a pure library.

A runner calls `simulate(site, state, end, control)` chunk after chunk, persists the samples and
`result.end_state` (`TwinState.to_dict()`), and re-reads the controls between chunks. See
docs/twin.md for the models, sign conventions and the resume contract.
"""

from gridshare.twin.battery import BatteryModel, split_blocks
from gridshare.twin.ev import EV_STATES, EvState
from gridshare.twin.hot_water import RELAY_STATES, HotWaterState
from gridshare.twin.optimum import Optimum, cost, optimum
from gridshare.twin.plans import (
    CommandType,
    DeviceControl,
    Intent,
    IntentKind,
    Mode,
    OverlayCommand,
    OverlayPlan,
    ScheduleSlot,
    SiteControl,
    WeeklySchedule,
)
from gridshare.twin.simulate import (
    BATTERY_STATES,
    SENSORS,
    SensorSeries,
    SimResult,
    TwinConfig,
    simulate,
)
from gridshare.twin.smart import SmartConfig, SmartPlan
from gridshare.twin.spec import BatteryBlock, EvCharger, HotWater, PvArray, TwinSite
from gridshare.twin.state import EnergyCounter, TwinState, initial_state
from gridshare.twin.tariffs import (
    DE_FLAT,
    DYNAMIC,
    FLAT,
    TARIFFS,
    TOU,
    US_CA_NBT,
    US_CA_TOU,
    DynamicTariff,
    FlatTariff,
    NetBillingTariff,
    PricePeriod,
    Tariff,
    TariffPair,
    TouTariff,
    price_periods,
    resolve_tariff,
    tariff_by_id,
)

__all__ = [
    "BATTERY_STATES",
    "DE_FLAT",
    "DYNAMIC",
    "EV_STATES",
    "FLAT",
    "RELAY_STATES",
    "SENSORS",
    "TARIFFS",
    "TOU",
    "US_CA_NBT",
    "US_CA_TOU",
    "BatteryBlock",
    "BatteryModel",
    "CommandType",
    "DeviceControl",
    "DynamicTariff",
    "EnergyCounter",
    "EvCharger",
    "EvState",
    "FlatTariff",
    "HotWater",
    "HotWaterState",
    "Intent",
    "IntentKind",
    "Mode",
    "NetBillingTariff",
    "Optimum",
    "OverlayCommand",
    "OverlayPlan",
    "PricePeriod",
    "PvArray",
    "ScheduleSlot",
    "SensorSeries",
    "SimResult",
    "SiteControl",
    "SmartConfig",
    "SmartPlan",
    "Tariff",
    "TariffPair",
    "TouTariff",
    "TwinConfig",
    "TwinSite",
    "TwinState",
    "WeeklySchedule",
    "cost",
    "initial_state",
    "optimum",
    "price_periods",
    "resolve_tariff",
    "simulate",
    "split_blocks",
    "tariff_by_id",
]
