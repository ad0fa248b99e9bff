//go:build tools

// Package benchpeers only pins the peers bench/run compares ifs-connect with; bench/peers/build
// compiles them from the module cache. Nothing here is part of ifs-connect.
package benchpeers

import _ "github.com/int128/kubelogin"
