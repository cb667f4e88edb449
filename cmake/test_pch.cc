// The object that carries the test binaries' shared precompiled header (GpufleetHelpers.cmake,
// gpufleet_use_test_pch); it defines nothing.
