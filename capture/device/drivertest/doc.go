// Package drivertest tests package device through mediadevices' own test
// camera and microphone drivers, in a test binary of its own so that
// device's tests still see this machine as it is (no camera). It has no
// code besides its tests.
package drivertest
