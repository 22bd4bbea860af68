import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { maskValue } from '../identifying.js';
import { makeEcg, STANDARD_12_LEADS } from './ecg.js';
import { isMuseXml, readMuseXml, writeMuseXml } from './muse-xml.js';
import { parseXml } from './xml.js';

const encode = (text: string) => new TextEncoder().encode(text);
const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));

function failureOf(read: () => unknown): FormatError {
  try {
    read();
  } catch (error) {
    if (error instanceof FormatError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a FormatError, got none');
}

const base64 = (values: number[]) => {
  const raw = Buffer.alloc(values.length * 2);
  values.forEach((value, i) => raw.writeInt16LE(value, i * 2));
  return raw.toString('base64');
};

const leadData = (id: string, values: number[], perBit = '4.88') => `
    <LeadData>
      <LeadByteCountTotal>${values.length * 2}</LeadByteCountTotal>
      <LeadTimeOffset>0</LeadTimeOffset>
      <LeadSampleCountTotal>${values.length}</LeadSampleCountTotal>
      <LeadAmplitudeUnitsPerBit>${perBit}</LeadAmplitudeUnitsPerBit>
      <LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>
      <LeadHighLimit>32767</LeadHighLimit>
      <LeadLowLimit>-32768</LeadLowLimit>
      <LeadID>${id}</LeadID>
      <LeadOffsetFirstSample>0</LeadOffsetFirstSample>
      <FirstSampleBaseline>0</FirstSampleBaseline>
      <LeadSampleSize>2</LeadSampleSize>
      <LeadOff>FALSE</LeadOff>
      <BaselineSway>FALSE</BaselineSway>
      <LeadDataCRC32>0</LeadDataCRC32>
      <WaveFormData>${
        base64(values)
          .match(/.{1,40}/gu)
          ?.join('\n') ?? ''
      }</WaveFormData>
    </LeadData>`;

/** A file laid out as MUSE 8 writes one: ISO-8859-1, a DOCTYPE, a Median waveform before the Rhythm. */
const museFile = (rhythmLeads = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']) =>
  latin1(`<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE RestingECG SYSTEM "restecg.dtd">
<RestingECG>
  <MuseInfo><MuseVersion>8.0.2.10132</MuseVersion></MuseInfo>
  <PatientDemographics>
    <PatientID>MRN0012345</PatientID>
    <PatientAge>67</PatientAge>
    <AgeUnits>YEARS</AgeUnits>
    <DateofBirth>03-14-1957</DateofBirth>
    <Gender>FEMALE</Gender>
    <PatientLastName>Sj\u00f6gren &amp; Co</PatientLastName>
    <PatientFirstName>Ann</PatientFirstName>
  </PatientDemographics>
  <TestDemographics>
    <DataType>RESTING</DataType>
    <Site>12</Site>
    <AcquisitionDevice>MAC55</AcquisitionDevice>
    <AcquisitionTime>09:26:59</AcquisitionTime>
    <AcquisitionDate>03-21-2015</AcquisitionDate>
    <OrderingMDLastName>HOUSE</OrderingMDLastName>
  </TestDemographics>
  <!-- a comment, as some exports carry -->
  <Waveform>
    <WaveformType>Median</WaveformType>
    <SampleBase>500</SampleBase>
    <SampleExponent>0</SampleExponent>${leadData('I', [9, 9])}
  </Waveform>
  <Waveform>
    <WaveformType>Rhythm</WaveformType>
    <WaveformStartTime>0</WaveformStartTime>
    <NumberofLeads>${rhythmLeads.length}</NumberofLeads>
    <SampleType>CONTINUOUS_SAMPLES</SampleType>
    <SampleBase>250</SampleBase>
    <SampleExponent>1</SampleExponent>${rhythmLeads
      .map((id, lead) => leadData(id, [lead * 10, -lead * 10, 100, -200, 0]))
      .join('')}
  </Waveform>
</RestingECG>
`);

describe('MUSE XML', () => {
  it('reads the Rhythm waveform, derives III, aVR, aVL and aVF, and lists identifying fields masked', () => {
    const bytes = museFile();
    expect(isMuseXml(bytes)).toBe(true);
    const muse = readMuseXml(bytes, { name: 'muse.xml' });
    expect(muse.waveformType).toBe('Rhythm');
    expect(muse.ecg.leads).toEqual([...STANDARD_12_LEADS]);
    expect(muse.derivedLeads).toEqual(['III', 'aVR', 'aVL', 'aVF']);
    expect([
      muse.ecg.samplingRate,
      muse.ecg.units,
      muse.ecg.sampleCount,
      muse.ecg.duration,
    ]).toEqual([2500, 'uV', 5, 0.002]);
    const lead = (name: string) => [...(muse.ecg.samples[muse.ecg.leads.indexOf(name)] ?? [])];
    const f = Math.fround;
    expect(lead('I')).toEqual([0, 0, f(488), f(-976), 0]);
    expect(lead('II')).toEqual([f(48.8), f(-48.8), f(488), f(-976), 0]);
    expect(lead('V6')).toEqual([f(7 * 10 * 4.88), f(-7 * 10 * 4.88), f(488), f(-976), 0]);
    // III = II - I; aVR = -(I + II) / 2; aVL = I - II / 2; aVF = II - I / 2
    expect(lead('III')[0]).toBeCloseTo(48.8, 4);
    expect(lead('aVR')[2]).toBeCloseTo(-488, 4);
    expect(lead('aVL')[1]).toBeCloseTo(24.4, 4);
    expect(lead('aVF')[3]).toBeCloseTo(-488, 4);
    expect(muse.identifying).toEqual([
      { field: 'PatientDemographics/PatientID', value: 'M*********' },
      { field: 'PatientDemographics/DateofBirth', value: '0*********' },
      { field: 'PatientDemographics/PatientLastName', value: 'S***********' },
      { field: 'PatientDemographics/PatientFirstName', value: '***' },
      { field: 'TestDemographics/AcquisitionTime', value: '0*******' },
      { field: 'TestDemographics/AcquisitionDate', value: '0*********' },
      { field: 'TestDemographics/OrderingMDLastName', value: 'H****' },
    ]);
    expect(JSON.stringify(muse)).not.toMatch(/MRN0012345|Ann|1957/u);
  });

  it('keeps leads a file stores in full, and other leads after the standard ones', () => {
    const muse = readMuseXml(museFile([...STANDARD_12_LEADS, 'V4R'].reverse()), {
      name: 'all.xml',
    });
    expect(muse.derivedLeads).toEqual([]);
    expect(muse.ecg.leads).toEqual([...STANDARD_12_LEADS, 'V4R']);
  });

  it('writes an ECG that it reads back: eight leads stored, four derived, identifying fields kept', () => {
    const samples = [0, 1, 2, 3, 4, 5, 6, 7].map((lead) =>
      Float32Array.from(
        { length: 5000 },
        (_, t) => 5 * Math.round(200 * Math.sin((t + lead * 50) / 40)) || 0,
      ),
    );
    const [one = new Float32Array(), two = new Float32Array(), ...chest] = samples;
    const derived = STANDARD_12_LEADS.slice(2, 6).map((name) =>
      Float32Array.from(one, (value, t) => {
        const ii = two[t] ?? 0;
        return name === 'III'
          ? ii - value
          : name === 'aVR'
            ? -(value + ii) / 2
            : name === 'aVL'
              ? value - ii / 2
              : ii - value / 2;
      }),
    );
    const ecg = makeEcg(
      {
        leads: [...STANDARD_12_LEADS],
        samplingRate: 500,
        units: 'uV',
        samples: [one, two, ...derived, ...chest],
      },
      'made',
    );
    const bytes = writeMuseXml(ecg, {
      unitsPerBit: 5,
      patient: { PatientID: 'X1234567', PatientLastName: 'Łukasiewicz <test>' },
      test: { AcquisitionDate: '01-02-2020' },
    });
    expect(new TextDecoder().decode(bytes)).toContain(
      '<PatientLastName>&#321;ukasiewicz &lt;test&gt;</PatientLastName>',
    );
    const back = readMuseXml(bytes, { name: 'round.xml' });
    expect(back.ecg).toEqual(ecg);
    expect(back.derivedLeads).toEqual(['III', 'aVR', 'aVL', 'aVF']);
    expect(back.identifying.map(({ field }) => field)).toEqual([
      'PatientDemographics/PatientID',
      'PatientDemographics/PatientLastName',
      'TestDemographics/AcquisitionDate',
    ]);
    expect(back.identifying[1]?.value).toBe(maskValue('Łukasiewicz <test>'));
  });
});

describe('MUSE XML refused', () => {
  const name = 'bad.xml';
  const cases: [string, Uint8Array, string][] = [
    [
      'billion laughs (a DTD internal subset)',
      encode(`<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<RestingECG>&lol3;</RestingECG>`),
      'invalid_xml',
    ],
    ['an undeclared entity', encode('<RestingECG>&lol;</RestingECG>'), 'invalid_xml'],
    ['an external entity reference', encode('<RestingECG>&xxe;</RestingECG>'), 'invalid_xml'],
    ['a bare ampersand', encode('<RestingECG>a & b</RestingECG>'), 'invalid_xml'],
    ['an unclosed element', encode('<RestingECG><Waveform></RestingECG>'), 'invalid_xml'],
    ['a truncated document', museFile().subarray(0, 900), 'invalid_xml'],
    ['deep nesting', encode(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`), 'limit_exceeded'],
    ['two roots', encode('<RestingECG/><RestingECG/>'), 'invalid_xml'],
    [
      'invalid UTF-8',
      Uint8Array.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]),
      'invalid_utf8',
    ],
    ['UTF-16', Uint8Array.from([0xff, 0xfe, 0x3c, 0x00]), 'invalid_xml'],
    ['another root', encode('<AnnotatedECG/>'), 'invalid_ecg'],
    ['no waveform', encode('<RestingECG><PatientDemographics/></RestingECG>'), 'invalid_ecg'],
  ];
  for (const [what, bytes, code] of cases) {
    it(`refuses ${what} (${code})`, () => {
      const error = failureOf(() => readMuseXml(bytes, { name }));
      expect([error.code, error.file]).toEqual([code, name]);
    });
  }

  it('says the byte offset of the refused internal subset', () => {
    const text = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><x/>';
    expect(failureOf(() => parseXml(encode(text), { name })).offset).toBe(text.indexOf('['));
  });

  it('refuses a declared sample count past the limit before decoding, and data shorter than declared', () => {
    const huge = new TextDecoder('latin1')
      .decode(museFile())
      .replace(
        '<LeadSampleCountTotal>5</LeadSampleCountTotal>',
        '<LeadSampleCountTotal>999999999999</LeadSampleCountTotal>',
      );
    expect(failureOf(() => readMuseXml(latin1(huge), { name })).code).toBe('limit_exceeded');
    const short = new TextDecoder('latin1')
      .decode(museFile())
      .replace(
        '<LeadSampleCountTotal>5</LeadSampleCountTotal>',
        '<LeadSampleCountTotal>6</LeadSampleCountTotal>',
      );
    expect(failureOf(() => readMuseXml(latin1(short), { name })).code).toBe('truncated');
  });

  it('refuses documents and element counts past their limits', () => {
    expect(failureOf(() => readMuseXml(museFile(), { name, maxBytes: 100 })).code).toBe(
      'limit_exceeded',
    );
    expect(failureOf(() => readMuseXml(museFile(), { name, maxElements: 10 })).code).toBe(
      'limit_exceeded',
    );
  });
});
