import { useCallback, useEffect, useState } from 'react';

/** The pages of the app; each has a path and a title for the navigation. */
export const ROUTES = [
  { path: '/', title: 'Home' },
  { path: '/datasets', title: 'Datasets' },
  { path: '/status', title: 'Status' },
  { path: '/terms', title: 'Terms' },
] as const;

export type RoutePath = (typeof ROUTES)[number]['path'];

function currentPath(): string {
  return window.location.pathname;
}

/** A minimal history-API router: the current path, and a way to go elsewhere without reloading. */
export function useRouter(): { path: string; navigate: (to: string) => void } {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const handlePop = () => {
      setPath(currentPath());
    };
    window.addEventListener('popstate', handlePop);
    return () => {
      window.removeEventListener('popstate', handlePop);
    };
  }, []);
  // `to` may carry a query (`/sign-in?next=/account`): the path is what the browser makes of it.
  const navigate = useCallback((to: string) => {
    if (to !== `${window.location.pathname}${window.location.search}`) {
      window.history.pushState(null, '', to);
      setPath(currentPath());
    }
  }, []);
  return { path, navigate };
}
