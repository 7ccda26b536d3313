"""Long-term memory (issue 15): facts, their write policy, ranking, storage and embeddings.

Import the modules directly (``clanker.memory.policy``, ``clanker.memory.ranking``, …); this
package imports nothing, so importing a sans-IO core never pulls in an actor or a model.
"""
