"""Pages of the talent platform, by audience: the public catalogue and certificates, learners, instructors,
operators and organisation administrators. Every rule is in ``talent.services`` and the models."""
