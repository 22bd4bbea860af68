// dcmtk's side of bench/formats' "parse + decode" comparison: what Lantern's readDicom + decodeFrame
// do, with dcmtk's own API, in one process over the whole corpus.
//
// Each file is parsed (DcmFileFormat::loadFile) and every frame's stored samples are decoded into a
// buffer (DcmPixelData::getUncompressedFrame, with the JPEG, JPEG-LS and RLE decoders registered).
// That is the closest match to decodeFrame: one frame at a time, raw stored samples, no rescale, no
// VOI window and no rendering (which DicomImage::getOutputData would add), and no re-encoding of the
// whole dataset (which chooseRepresentation would add, decoding every frame at once into a new
// representation). YBR JPEG frames come out as RGB, as Lantern's do.
//
//   dcmtk-decode --probe FILE...       one JSON line per file: frames and the sum of the stored
//                                      samples (masked to Bits Stored, signed when Pixel
//                                      Representation is 1), or why it could not decode
//   dcmtk-decode [--warmup W] --repeat N FILE...
//                                      decodes every file W times untimed, then N times; prints
//                                      {"seconds": S, "cpuSeconds": C}, the wall and CPU time of
//                                      the N passes alone (process start, data dictionary and
//                                      codec registration not counted); exits 1 naming the first
//                                      file it cannot decode
//
// Built by bench/formats/run.ts with g++ against libdcmtk-dev (Debian's dcmtk 3.6.7, which has no
// JPEG 2000 decoder: those files are listed as not decoded and are not timed against it).
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfcache.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

namespace {

struct Decoded {
  long frames = 0;
  long long sum = 0;
};

// The image pixel module's attributes the sum needs (PS3.3 C.7.6.3).
struct Layout {
  Uint16 bitsAllocated = 0;
  Uint16 bitsStored = 0;
  Uint16 highBit = 0;
  Uint16 pixelRepresentation = 0;
  unsigned long samples = 0;
};

// A condition that failed, as an error message naming what was being done.
std::string describe(const char *what, const OFCondition &status) {
  return std::string(what) + ": " + status.text();
}

Layout layoutOf(DcmDataset &dataset) {
  Layout layout;
  Uint16 rows = 0, columns = 0, samplesPerPixel = 1;
  dataset.findAndGetUint16(DCM_Rows, rows);
  dataset.findAndGetUint16(DCM_Columns, columns);
  dataset.findAndGetUint16(DCM_SamplesPerPixel, samplesPerPixel);
  dataset.findAndGetUint16(DCM_BitsAllocated, layout.bitsAllocated);
  dataset.findAndGetUint16(DCM_BitsStored, layout.bitsStored);
  dataset.findAndGetUint16(DCM_HighBit, layout.highBit);
  dataset.findAndGetUint16(DCM_PixelRepresentation, layout.pixelRepresentation);
  layout.samples = static_cast<unsigned long>(rows) * columns * samplesPerPixel;
  return layout;
}

// The sum of one frame's stored values as decodeFrame returns them: shifted down to the High Bit,
// masked to Bits Stored and sign-extended when signed. The buffer is in the machine's byte order.
long long sumFrame(const Layout &layout, const std::vector<Uint8> &buffer) {
  long long sum = 0;
  if (layout.bitsAllocated == 1) {
    for (unsigned long i = 0; i < layout.samples; i += 1) {
      sum += (buffer[i / 8] >> (i % 8)) & 1;
    }
    return sum;
  }
  const unsigned bits = layout.bitsStored == 0 ? layout.bitsAllocated : layout.bitsStored;
  const unsigned shift = layout.highBit + 1u >= bits ? layout.highBit + 1u - bits : 0;
  const uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
  const uint64_t sign = 1ull << (bits - 1);
  for (unsigned long i = 0; i < layout.samples; i += 1) {
    uint64_t raw = 0;
    switch (layout.bitsAllocated) {
    case 8: raw = buffer[i]; break;
    case 16: raw = reinterpret_cast<const Uint16 *>(buffer.data())[i]; break;
    case 32: raw = reinterpret_cast<const Uint32 *>(buffer.data())[i]; break;
    default: return sum;
    }
    const uint64_t value = (raw >> shift) & mask;
    const bool negative = layout.pixelRepresentation == 1 && (value & sign) != 0;
    sum += negative ? static_cast<long long>(value) - static_cast<long long>(mask) - 1
                    : static_cast<long long>(value);
  }
  return sum;
}

// Parses `path` and decodes every frame; the sum of the samples when `withSum`. Throws the reason
// it could not, as a string.
Decoded decodeFile(const char *path, bool withSum, std::vector<Uint8> &buffer) {
  DcmFileFormat file;
  OFCondition status = file.loadFile(path);
  if (status.bad()) {
    throw describe("loadFile", status);
  }
  DcmDataset &dataset = *file.getDataset();
  DcmElement *element = nullptr;
  if (dataset.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) {
    throw std::string("no Pixel Data (7FE0,0010)");
  }
  Sint32 frames = 1;
  if (dataset.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) {
    frames = 1;
  }
  Uint32 frameSize = 0;
  status = element->getUncompressedFrameSize(&dataset, frameSize);
  if (status.bad()) {
    throw describe("getUncompressedFrameSize", status);
  }
  // getUncompressedFrame wants an even size, to swap 16-bit samples in place.
  buffer.resize(frameSize + (frameSize & 1));
  const Layout layout = layoutOf(dataset);
  if (withSum && layout.samples * (layout.bitsAllocated == 1 ? 1 : layout.bitsAllocated / 8) >
                     buffer.size() * (layout.bitsAllocated == 1 ? 8 : 1)) {
    throw std::string("the frame is smaller than Rows x Columns x Samples per Pixel");
  }
  DcmFileCache cache;
  Uint32 fragment = 0;
  Decoded decoded;
  for (Sint32 frame = 0; frame < frames; frame += 1) {
    OFString colorModel;
    status = element->getUncompressedFrame(&dataset, frame, fragment, buffer.data(),
                                           static_cast<Uint32>(buffer.size()), colorModel, &cache);
    if (status.bad()) {
      // Named with the transfer syntax: with no decoder registered for it (JPEG 2000), dcmtk
      // says only "Pixel representation cannot be changed".
      const std::string what = "frame " + std::to_string(frame) + " of " +
                               DcmXfer(dataset.getOriginalXfer()).getXferName();
      throw describe(what.c_str(), status);
    }
    if (withSum) {
      decoded.sum += sumFrame(layout, buffer);
    }
  }
  decoded.frames = frames;
  return decoded;
}

// A JSON string: the paths and dcmtk's messages are printed inside one.
std::string json(const std::string &text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

int probe(const std::vector<const char *> &files) {
  std::vector<Uint8> buffer;
  for (const char *path : files) {
    try {
      const Decoded decoded = decodeFile(path, true, buffer);
      std::printf("{\"file\":%s,\"frames\":%ld,\"sum\":%lld}\n", json(path).c_str(), decoded.frames,
                  decoded.sum);
    } catch (const std::string &error) {
      std::printf("{\"file\":%s,\"error\":%s}\n", json(path).c_str(), json(error).c_str());
    }
  }
  return 0;
}

// Parses and decodes `files` `repeat` times; false, naming the file, at the first it cannot decode.
bool decodePasses(const std::vector<const char *> &files, long repeat) {
  std::vector<Uint8> buffer;
  for (long pass = 0; pass < repeat; pass += 1) {
    for (const char *path : files) {
      try {
        decodeFile(path, false, buffer);
      } catch (const std::string &error) {
        std::fprintf(stderr, "dcmtk-decode: %s: %s\n", path, error.c_str());
        return false;
      }
    }
  }
  return true;
}

// The untimed passes first, as Lantern's and pydicom's warm-up passes run in the process they time.
// CPU time (std::clock, the process's) beside wall time: on shared cores the wall time mostly
// measures waiting, as Lantern's process.cpuUsage() beside its wall time shows.
int timed(const std::vector<const char *> &files, long warmup, long repeat) {
  if (!decodePasses(files, warmup)) {
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  const std::clock_t startedCpu = std::clock();
  if (!decodePasses(files, repeat)) {
    return 1;
  }
  const double cpuSeconds = static_cast<double>(std::clock() - startedCpu) / CLOCKS_PER_SEC;
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - started;
  std::printf("{\"seconds\":%.9f,\"cpuSeconds\":%.9f}\n", seconds.count(), cpuSeconds);
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: dcmtk-decode --probe FILE... | [--warmup W] --repeat N FILE...\n");
  return 2;
}

// A whole number of at least `least`, or -1.
long count(const char *text, long least) {
  char *end = nullptr;
  const long n = std::strtol(text, &end, 10);
  return *end == '\0' && n >= least ? n : -1;
}

} // namespace

int main(int argc, char **argv) {
  bool isProbe = false;
  long warmup = 0;
  long repeat = 0;
  int first = 1;
  for (; first < argc && std::strncmp(argv[first], "--", 2) == 0; first += 1) {
    const std::string option = argv[first];
    if (option == "--probe") {
      isProbe = true;
    } else if ((option == "--warmup" || option == "--repeat") && first + 1 < argc) {
      (option == "--warmup" ? warmup : repeat) = count(argv[first + 1], option == "--warmup" ? 0 : 1);
      first += 1;
    } else {
      return usage();
    }
  }
  if (first == argc || warmup < 0 || repeat < 0 || isProbe == (repeat > 0)) {
    return usage();
  }
  // Errors are reported per file by this program; dcmtk's own warnings would only add output.
  OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
  // dcmtk reads its data dictionary (dicom.dic) on first use: here, before the clock starts, as
  // pydicom's and Lantern's dictionaries are loaded with their modules.
  if (!dcmDataDict.isDictionaryLoaded()) {
    std::fprintf(stderr, "dcmtk-decode: no DICOM data dictionary (DCMDICTPATH)\n");
    return 1;
  }
  DJDecoderRegistration::registerCodecs();
  DJLSDecoderRegistration::registerCodecs();
  DcmRLEDecoderRegistration::registerCodecs();
  const std::vector<const char *> files(argv + first, argv + argc);
  const int code = isProbe ? probe(files) : timed(files, warmup, repeat);
  DcmRLEDecoderRegistration::cleanup();
  DJLSDecoderRegistration::cleanup();
  DJDecoderRegistration::cleanup();
  return code;
}
