"""Recommendations: pure model code (no database, no network). store/recommend.py binds it to the store.

content.py     TF-IDF item vectors and their nearest content neighbours
collab.py      the collaborative signal: item-item co-reading (chosen) and implicit's ALS (measured)
interactions.py  follower x item weights from behaviour (weighted, time-decayed) and what a list must skip
model.py       the fitted model and its bytes (what is saved and loaded)
fit.py         catalog + interactions -> fitted model
rank.py        scoring a chunk of followers: blend, rules, MMR diversification, reasons
"""

from recommender.types import FitSummary, Item, Recommendation, Weights

__all__ = ["FitSummary", "Item", "Recommendation", "Weights"]
