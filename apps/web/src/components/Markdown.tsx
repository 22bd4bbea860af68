import ReactMarkdown, { defaultUrlTransform } from 'react-markdown';

/**
 * Markdown written by admins (the terms), rendered safely: react-markdown builds React elements
 * from the syntax tree, never HTML strings, so raw HTML in the source shows as text and never
 * runs; `defaultUrlTransform` drops `javascript:` and other unsafe link targets.
 */
export function Markdown({ source }: { source: string }) {
  return (
    <div className="prose">
      <ReactMarkdown skipHtml={false} urlTransform={defaultUrlTransform}>
        {source}
      </ReactMarkdown>
    </div>
  );
}
