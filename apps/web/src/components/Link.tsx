import type { MouseEvent, ReactNode } from 'react';

interface LinkProps {
  to: string;
  navigate: (to: string) => void;
  current?: boolean;
  children: ReactNode;
}

/** An anchor that navigates in-app on a plain click and behaves as a normal link otherwise. */
export function Link({ to, navigate, current = false, children }: LinkProps) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={handleClick} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}
