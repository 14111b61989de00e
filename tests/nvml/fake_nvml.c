/*
 * A stand-in for NVIDIA's libnvidia-ml.so.1, for tests on machines without
 * an NVIDIA GPU: it implements the NVML calls mwbench makes (through
 * nvml-wrapper) and emulates GPUs described in a file beside the library,
 * named after it with ".conf" appended:
 *
 *   # one line per GPU; keys in any order, all optional
 *   gpu name=llvmpipe (LLVM 15.0.6, 256 bits);bus=00000000:01:00.0;watts=250;energy=counter
 *
 * Keys: name, bus (NVML's 8-digit domain form), watts (the draw, constant),
 * energy (counter, or unsupported: NVML_ERROR_NOT_SUPPORTED, so the
 * sampled-power path runs), power (supported or unsupported), limit_w (the
 * enforced power limit), temp_c, sm_mhz, mem_mhz, and throttle_after_s:
 * from that many seconds after nvmlInit the GPU is thermally throttled
 * (throttle reasons report SW thermal and HW slowdown; temperature,
 * clocks and power become throttled_temp_c, throttled_sm_mhz and
 * throttled_watts), for tests of sustained runs; or throttle_after_reads:
 * the GPU throttles a quarter of a second after its temperature has been
 * read that many times (so the rest of that interval's readings are still
 * unthrottled), which ties the throttle to a sustained run's intervals
 * rather than to the clock.
 *
 * pulse_watts, pulse_every_s and pulse_s: the draw is pulse_watts for the
 * first pulse_s of every pulse_every_s (unthrottled GPUs only), for a
 * spread of samples above limit_w under a mean below it.
 *
 * The energy counter integrates the draw over CLOCK_MONOTONIC since
 * nvmlInit, as a real GPU's does.
 *
 * Built by the tests with the system's cc:
 *   cc -shared -fPIC -o libnvidia-ml.so.1 fake_nvml.c
 * With -DOMIT_ENERGY_SYMBOL the energy call is missing from the library,
 * with -DOMIT_POWER_SYMBOLS the power call too: libraries missing symbols.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_UNKNOWN = 999,
};

typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

#define MAX_GPUS 16

struct gpu {
    char name[96];
    char bus_id[32];
    double watts, throttled_watts;
    int energy_supported, power_supported;
    double limit_w;
    unsigned temp_c, sm_mhz, mem_mhz;
    double throttle_after_s; /* < 0: never */
    int throttle_after_reads, reads;
    double throttle_at; /* seconds after init; < 0: not (yet) */
    double pulse_watts, pulse_every_s, pulse_s; /* pulse_every_s 0: none */
    unsigned throttled_temp_c, throttled_sm_mhz;
};

typedef struct gpu *nvmlDevice_t;

static struct gpu gpus[MAX_GPUS];
static unsigned gpu_count;
static int initialised;
static struct timespec started;

static double seconds_since_init(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (now.tv_nsec - started.tv_nsec) * 1e-9;
}

static int throttled(const struct gpu *g) {
    return g->throttle_at >= 0 && seconds_since_init() >= g->throttle_at;
}

/* Joules drawn in the first t seconds of pulses. */
static double pulsed_joules(const struct gpu *g, double t) {
    double periods = (double)(long long)(t / g->pulse_every_s);
    double into = t - periods * g->pulse_every_s;
    double high = into < g->pulse_s ? into : g->pulse_s;
    return periods * (g->pulse_s * g->pulse_watts + (g->pulse_every_s - g->pulse_s) * g->watts) +
           high * g->pulse_watts + (into - high) * g->watts;
}

static int pulsing(const struct gpu *g) {
    return g->pulse_every_s > 0 && g->throttle_at < 0;
}

/* Joules drawn since init: the draw, then the throttled draw. */
__attribute__((unused)) static double joules(const struct gpu *g) {
    double t = seconds_since_init();
    if (pulsing(g))
        return pulsed_joules(g, t);
    if (g->throttle_at < 0 || t < g->throttle_at)
        return t * g->watts;
    return g->throttle_at * g->watts + (t - g->throttle_at) * g->throttled_watts;
}

static void set(struct gpu *g, const char *key, const char *value) {
    if (!strcmp(key, "name")) snprintf(g->name, sizeof g->name, "%s", value);
    else if (!strcmp(key, "bus")) snprintf(g->bus_id, sizeof g->bus_id, "%s", value);
    else if (!strcmp(key, "watts")) g->watts = atof(value);
    else if (!strcmp(key, "throttled_watts")) g->throttled_watts = atof(value);
    else if (!strcmp(key, "energy")) g->energy_supported = strcmp(value, "unsupported") != 0;
    else if (!strcmp(key, "power")) g->power_supported = strcmp(value, "unsupported") != 0;
    else if (!strcmp(key, "limit_w")) g->limit_w = atof(value);
    else if (!strcmp(key, "temp_c")) g->temp_c = (unsigned)atoi(value);
    else if (!strcmp(key, "sm_mhz")) g->sm_mhz = (unsigned)atoi(value);
    else if (!strcmp(key, "mem_mhz")) g->mem_mhz = (unsigned)atoi(value);
    else if (!strcmp(key, "throttle_after_s")) g->throttle_after_s = atof(value);
    else if (!strcmp(key, "throttle_after_reads")) g->throttle_after_reads = atoi(value);
    else if (!strcmp(key, "throttled_temp_c")) g->throttled_temp_c = (unsigned)atoi(value);
    else if (!strcmp(key, "throttled_sm_mhz")) g->throttled_sm_mhz = (unsigned)atoi(value);
    else if (!strcmp(key, "pulse_watts")) g->pulse_watts = atof(value);
    else if (!strcmp(key, "pulse_every_s")) g->pulse_every_s = atof(value);
    else if (!strcmp(key, "pulse_s")) g->pulse_s = atof(value);
}

static void load_config(void) {
    Dl_info info;
    char path[4096];
    char line[1024];
    FILE *file;
    gpu_count = 0;
    if (!dladdr((void *)load_config, &info) || !info.dli_fname) return;
    snprintf(path, sizeof path, "%s.conf", info.dli_fname);
    file = fopen(path, "r");
    if (!file) return;
    while (gpu_count < MAX_GPUS && fgets(line, sizeof line, file)) {
        char *rest, *pair, *save = NULL;
        struct gpu *g;
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "gpu ", 4) != 0) continue;
        g = &gpus[gpu_count++];
        memset(g, 0, sizeof *g);
        snprintf(g->name, sizeof g->name, "NVIDIA H100 80GB HBM3");
        snprintf(g->bus_id, sizeof g->bus_id, "00000000:%02X:00.0", gpu_count);
        g->watts = 100;
        g->energy_supported = g->power_supported = 1;
        g->limit_w = 700;
        g->temp_c = 40;
        g->sm_mhz = 1980;
        g->mem_mhz = 2619;
        g->throttle_after_s = -1;
        rest = line + 4;
        for (pair = strtok_r(rest, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(pair, '=');
            if (!eq) continue;
            *eq = 0;
            set(g, pair, eq + 1);
        }
        if (g->throttled_watts == 0) g->throttled_watts = g->watts;
        if (g->throttled_temp_c == 0) g->throttled_temp_c = g->temp_c;
        if (g->throttled_sm_mhz == 0) g->throttled_sm_mhz = g->sm_mhz;
        g->throttle_at = g->throttle_after_s;
    }
    fclose(file);
}

static nvmlReturn_t check(nvmlDevice_t device) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (device < gpus || device >= gpus + gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

#define CHECK(device, out)                         \
    do {                                           \
        nvmlReturn_t r = check(device);            \
        if (r != NVML_SUCCESS) return r;           \
        if (!(out)) return NVML_ERROR_INVALID_ARGUMENT; \
    } while (0)

nvmlReturn_t nvmlInit_v2(void) {
    load_config();
    clock_gettime(CLOCK_MONOTONIC, &started);
    initialised = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return nvmlInit_v2();
}

nvmlReturn_t nvmlShutdown(void) {
    initialised = 0;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!version) return NVML_ERROR_INVALID_ARGUMENT;
    if (length < 16) return NVML_ERROR_INSUFFICIENT_SIZE;
    snprintf(version, length, "550.54.15");
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    *count = gpu_count;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!device || index >= gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &gpus[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    CHECK(device, name);
    if (strlen(device->name) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    snprintf(name, length, "%s", device->name);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
    CHECK(device, pci);
    memset(pci, 0, sizeof *pci);
    snprintf(pci->busId, sizeof pci->busId, "%s", device->bus_id);
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%.15s", device->bus_id + 4);
    sscanf(device->bus_id, "%x:%x:%x", &pci->domain, &pci->bus, &pci->device);
    pci->pciDeviceId = 0x233010de;
    return NVML_SUCCESS;
}

#ifndef OMIT_ENERGY_SYMBOL
#ifndef OMIT_POWER_SYMBOLS
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *mj) {
    CHECK(device, mj);
    if (!device->energy_supported) return NVML_ERROR_NOT_SUPPORTED;
    *mj = (unsigned long long)(joules(device) * 1000.0);
    return NVML_SUCCESS;
}
#endif
#endif

#ifndef OMIT_POWER_SYMBOLS
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *mw) {
    CHECK(device, mw);
    if (!device->power_supported) return NVML_ERROR_NOT_SUPPORTED;
    if (pulsing(device)) {
        double t = seconds_since_init();
        double into = t - (double)(long long)(t / device->pulse_every_s) * device->pulse_every_s;
        *mw = (unsigned int)((into < device->pulse_s ? device->pulse_watts : device->watts) * 1000.0);
        return NVML_SUCCESS;
    }
    *mw = (unsigned int)((throttled(device) ? device->throttled_watts : device->watts) * 1000.0);
    return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *mw) {
    CHECK(device, mw);
    *mw = (unsigned int)(device->limit_w * 1000.0);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *celsius) {
    CHECK(device, celsius);
    if (sensor != 0) return NVML_ERROR_NOT_SUPPORTED; /* NVML_TEMPERATURE_GPU */
    *celsius = throttled(device) ? device->throttled_temp_c : device->temp_c;
    if (device->throttle_after_reads > 0 && ++device->reads == device->throttle_after_reads &&
        device->throttle_at < 0)
        device->throttle_at = seconds_since_init() + 0.25;
    return NVML_SUCCESS;
}

/* NVML_CLOCK_GRAPHICS 0, NVML_CLOCK_SM 1, NVML_CLOCK_MEM 2. */
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int *mhz) {
    CHECK(device, mhz);
    switch (type) {
    case 0:
    case 1: *mhz = throttled(device) ? device->throttled_sm_mhz : device->sm_mhz; break;
    case 2: *mhz = device->mem_mhz; break;
    default: return NVML_ERROR_INVALID_ARGUMENT;
    }
    return NVML_SUCCESS;
}

/* nvmlClocksEventReasonSwThermalSlowdown 0x20 | HwSlowdown 0x08; GpuIdle 0x01 otherwise. */
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *reasons) {
    CHECK(device, reasons);
    *reasons = throttled(device) ? 0x20ULL | 0x08ULL : 0x0ULL;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device, unsigned long long *reasons) {
    return nvmlDeviceGetCurrentClocksEventReasons(device, reasons);
}
