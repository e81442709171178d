// Package config holds wpinit's TOML schemas (wpinit.toml for services, instances.toml for
// WordPress instances), their defaults, loading and validation.
//
// Invariant: a file is either accepted whole or rejected whole. Load decodes over defaults,
// rejects keys it does not know, validates everything and reports every problem at once, each
// naming the file, the dotted TOML key and its line. Leaf types (Duration, Signal, Name, Size)
// validate themselves in UnmarshalText so that BurntSushi/toml reports the line of a bad value.
package config
